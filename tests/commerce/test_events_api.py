import json

import pytest
from django.test import Client, override_settings

from commerce.events import services
from commerce.events.models import CustomerEvent
from tests.factories import ExperimentFactory, ProductFactory, browse_as, visitor_in

pytestmark = pytest.mark.django_db

URL = "/api/v1/events"


def beacon(client, payload, **headers):
    return client.post(URL, data=json.dumps(payload), content_type="application/json", **headers)


def clicks(surface: str, product, count: int = 1, **extra) -> dict:
    return {"events": [{"event_type": "recommendation_click", "product": product.pk, "surface": surface, **extra}]
            * count}


def test_valid_beacon_is_accepted_and_recorded_for_the_visitor():
    product = ProductFactory()
    client = Client()
    client.get("/cart/")  # a visitor cookie, as a browser would have

    response = beacon(client, {"events": [
        {"event_type": "recommendation_impression", "product": product.pk, "surface": "block:hero-1"},
        {"event_type": "recommendation_click", "product": product.pk, "surface": "block:hero-1"},
    ]})

    assert response.status_code == 202 and response.json() == {"accepted": 2}
    services.drain_events()
    events = CustomerEvent.objects.order_by("event_type")
    assert [e.event_type for e in events] == ["recommendation_click", "recommendation_impression"]
    assert all(e.anonymous_id == response.wsgi_request.visitor_id for e in events)
    assert all(e.experiments == {} for e in events)  # shown under no experiment


@pytest.fixture
def carousel_under_experiment(wagtail_site):
    """The home page with a carousel under a running 50/50 experiment; returns (experiment, its block's
    beacon surface, the address of the shopper's own row)."""
    ProductFactory()
    experiment = ExperimentFactory(variants=[("a", 50, "trending", True), ("b", 50, "trending", False)])
    wagtail_site.body = [{"type": "recommendations", "value": {
        "title": "Picked for you", "strategy": "trending", "count": 4, "category": None, "product": None,
        "fallback": "trending", "experiment": experiment.pk}}]
    wagtail_site.save_revision().publish()
    wagtail_site.refresh_from_db()
    block_id = wagtail_site.body[0].id
    return experiment, f"block:{block_id}", f"/fragments/{wagtail_site.pk}/{block_id}/"


def test_beacon_events_carry_the_variant_the_server_showed_on_their_surface_not_the_clients(
        client, carousel_under_experiment):
    experiment, surface, row = carousel_under_experiment
    product = ProductFactory()
    shopper = browse_as(client, visitor_in(experiment, "b"))
    assert shopper.get(row).status_code == 200  # the shopper's row, rendered in variant b

    forged = {experiment.key: "a", "other-test": "x"}
    response = beacon(shopper, {"events": [
        {"event_type": "recommendation_click", "product": product.pk, "surface": surface, "experiments": forged},
        {"event_type": "recommendation_click", "product": product.pk, "surface": "block:elsewhere",
         "experiments": forged},
    ]})

    assert response.status_code == 202
    services.drain_events()
    tagged = dict(CustomerEvent.objects.filter(event_type="recommendation_click").values_list("surface", "experiments"))
    assert tagged == {surface: {experiment.key: "b"}, "block:elsewhere": {}}


@pytest.mark.parametrize("headers", [{}, {"HTTP_DNT": "1"}, {"HTTP_USER_AGENT": "python-requests/2.32"}])
def test_beacons_without_the_visitor_cookie_or_from_bots_and_opted_out_shoppers_are_untagged(
        client, carousel_under_experiment, headers):
    experiment, surface, row = carousel_under_experiment
    product = ProductFactory()
    shopper = browse_as(client, visitor_in(experiment, "b"))
    shopper.get(row)
    cookieless = Client(HTTP_USER_AGENT=shopper.defaults["HTTP_USER_AGENT"])

    caller = shopper if headers else cookieless
    response = beacon(caller, clicks(surface, product, 5, experiments={experiment.key: "b"}), **headers)

    assert response.status_code == 202
    services.drain_events()
    assert list(CustomerEvent.objects.filter(event_type="recommendation_click").values_list("experiments", flat=True)
                ) == [{}] * 5


def test_a_nul_in_an_experiment_key_no_longer_reaches_the_queue_and_ingest_keeps_flowing(shopper_client):
    product = ProductFactory()
    poisoned = {"event_type": "recommendation_click", "product": product.pk, "surface": "x",
                "experiments": {"a\u0000": "b", "\ud800": "c"}}

    assert beacon(shopper_client, {"events": [poisoned]}).status_code == 202
    assert beacon(shopper_client, clicks("y", product)).status_code == 202
    services.drain_events()

    assert sorted(CustomerEvent.objects.values_list("surface", "experiments")) == [("x", {}), ("y", {})]
    assert services.queue_depth() == {"queued": 0, "processing": 0, "dead": 0}


@pytest.mark.parametrize(("payload", "reason"), [
    ({"events": [{"event_type": "purchase", "product": 1, "surface": "x"}]}, "not a valid choice"),
    ({"events": [{"event_type": "recommendation_click", "product": 999999, "surface": "x"}]}, "Unknown product"),
    ({"events": [{"event_type": "recommendation_click", "surface": "x"}]}, "required"),
    ({"events": [{"event_type": "recommendation_click", "product": "abc", "surface": "x"}]}, "valid integer"),
    ({"events": [{"event_type": "recommendation_click", "product": 1, "surface": "<script>"}]}, "surface"),
    ({"events": []}, "empty"),
    ({"events": [{"event_type": "recommendation_click", "product": 1, "surface": "x"}] * 51}, "no more than 50"),
    ({"nothing": True}, "events"),
    ({"events": [{"event_type": "recommendation_click", "product": 1, "surface": "x", "query": "mug\u0000"}]},
     "Null characters are not allowed"),
    ({"events": [{"event_type": "recommendation_click", "product": 1, "surface": "x", "query": "mug\ud800"}]},
     "Surrogate characters are not allowed"),
    ({"events": [{"event_type": "recommendation_click", "product": 1, "surface": "x\u0000"}]}, "surface"),
    ({"events": [{"event_type": "recommendation_click", "product": 2 ** 63, "surface": "x"}]}, "less than or equal"),
])
def test_invalid_beacons_get_400_with_the_reason_and_record_nothing(payload, reason):
    ProductFactory(pk=1)
    response = beacon(Client(), payload)

    assert response.status_code == 400
    assert reason in json.dumps(response.json())
    assert services.queue_depth()["queued"] == 0


def test_malformed_json_gets_400():
    response = Client().post(URL, data="{oops", content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


@pytest.mark.parametrize("depth", [9, 1_000, 100_000])
def test_deeply_nested_json_gets_400_with_the_reason_whoever_parses_it_first(depth):
    body = '{"events": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"
    client = Client(enforce_csrf_checks=True)  # the CSRF check reads the body too
    client.get("/account/login/")

    for headers in ({}, {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}):
        response = client.post(URL, data=body, content_type="application/json", **headers)

        assert response.status_code == 400
        assert response.json()["detail"] == "JSON nested deeper than 8 levels."


def test_brackets_inside_strings_do_not_count_as_nesting(shopper_client):
    product = ProductFactory()

    response = beacon(shopper_client, clicks("x", product, query='[[[[[[[[[[{{{{{{{{{{"\\'))

    assert response.status_code == 202
    services.drain_events()
    assert CustomerEvent.objects.get().query == '[[[[[[[[[[{{{{{{{{{{"\\'


def test_an_oversized_body_gets_400():
    response = Client().post(URL, data=" " * (256 * 1024 + 1), content_type="application/json")

    assert response.status_code == 400
    assert response.json()["detail"] == "The body is larger than 262,144 bytes."


def test_beacon_without_csrf_token_is_refused():
    product = ProductFactory()
    client = Client(enforce_csrf_checks=True)
    client.get("/cart/")
    payload = {"events": [{"event_type": "recommendation_click", "product": product.pk, "surface": "x"}]}

    refused = beacon(client, payload)
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]

    client.get("/account/login/")  # a page with a form sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    assert beacon(client, payload, HTTP_X_CSRFTOKEN=token).status_code == 202


@override_settings(VITRINE_EVENT_BEACON_RATE="3/min")
def test_beacon_is_rate_limited_per_visitor():
    product = ProductFactory()
    payload = {"events": [{"event_type": "recommendation_click", "product": product.pk, "surface": "x"}]}
    first, second = Client(), Client()
    first.get("/cart/")
    second.get("/cart/")

    statuses = [beacon(first, payload).status_code for _ in range(4)]

    assert statuses == [202, 202, 202, 429]
    assert beacon(second, payload).status_code == 202


@override_settings(VITRINE_EVENT_BEACON_RATE="3/min")
def test_requests_without_the_visitor_cookie_share_one_limit_per_address():
    payload = clicks("x", ProductFactory())

    statuses = [beacon(Client(), payload).status_code for _ in range(4)]  # a new visitor id each time

    assert statuses == [202, 202, 202, 429]
    assert beacon(Client(REMOTE_ADDR="192.0.2.7"), payload).status_code == 202


@override_settings(VITRINE_EVENT_BEACON_RATE="3/min", VITRINE_EVENT_BEACON_RATE_PER_ADDRESS="5/min")
def test_beacon_is_rate_limited_per_address_across_visitors():
    payload = clicks("x", ProductFactory())
    visitors = [Client() for _ in range(3)]
    for visitor in visitors:
        visitor.get("/cart/")

    statuses = [beacon(visitor, payload).status_code for visitor in visitors for _ in range(2)]
    forwarded = beacon(visitors[0], payload, HTTP_X_FORWARDED_FOR="198.51.100.9")  # no proxy trusted: ignored

    assert statuses == [202, 202, 202, 202, 202, 429]
    assert forwarded.status_code == 429
    elsewhere = Client(REMOTE_ADDR="192.0.2.7")
    elsewhere.get("/cart/")
    assert beacon(elsewhere, payload).status_code == 202


def test_openapi_schema_documents_the_public_api_only():
    response = Client().get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.content.decode()
    assert "/api/v1/events" in schema and "/api/v1/search" in schema
    assert "/admin/api/" not in schema
