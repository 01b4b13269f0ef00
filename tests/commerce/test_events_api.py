import json

import pytest
from django.test import Client, override_settings

from commerce.events import services
from commerce.events.models import CustomerEvent
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/events"


def beacon(client, payload, **headers):
    return client.post(URL, data=json.dumps(payload), content_type="application/json", **headers)


def test_valid_beacon_is_accepted_and_recorded_for_the_visitor():
    product = ProductFactory()
    client = Client()
    client.get("/cart/")  # a visitor cookie, as a browser would have

    response = beacon(client, {"events": [
        {"event_type": "recommendation_impression", "product": product.pk, "surface": "block:hero-1",
         "experiments": {"home-carousel": "als"}},
        {"event_type": "recommendation_click", "product": product.pk, "surface": "block:hero-1"},
    ]})

    assert response.status_code == 202 and response.json() == {"accepted": 2}
    services.drain_events()
    events = CustomerEvent.objects.order_by("event_type")
    assert [e.event_type for e in events] == ["recommendation_click", "recommendation_impression"]
    assert all(e.anonymous_id == response.wsgi_request.visitor_id for e in events)
    assert events[1].experiments == {"home-carousel": "als"}


@pytest.mark.parametrize(("payload", "reason"), [
    ({"events": [{"event_type": "purchase", "product": 1, "surface": "x"}]}, "not a valid choice"),
    ({"events": [{"event_type": "recommendation_click", "product": 999999, "surface": "x"}]}, "Unknown product"),
    ({"events": [{"event_type": "recommendation_click", "surface": "x"}]}, "required"),
    ({"events": [{"event_type": "recommendation_click", "product": "abc", "surface": "x"}]}, "valid integer"),
    ({"events": [{"event_type": "recommendation_click", "product": 1, "surface": "<script>"}]}, "surface"),
    ({"events": []}, "empty"),
    ({"events": [{"event_type": "recommendation_click", "product": 1, "surface": "x"}] * 51}, "no more than 50"),
    ({"nothing": True}, "events"),
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


def test_openapi_schema_documents_the_public_api_only():
    response = Client().get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.content.decode()
    assert "/api/v1/events" in schema and "/api/v1/search" in schema
    assert "/admin/api/" not in schema
