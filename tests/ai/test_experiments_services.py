import datetime as dt
import random
import uuid
from collections import Counter

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.utils import timezone
from scipy import stats

from ai.experiments import services
from ai.experiments.models import Experiment, ExperimentAssignment
from commerce.customers.signals import visitor_identified
from commerce.events.models import CustomerEvent
from commerce.events.services import drain_events
from tests.factories import BROWSER, CustomerFactory, ExperimentFactory, transition

pytestmark = pytest.mark.django_db



def request(visitor=None, customer=None, user_agent=BROWSER, **headers):
    made = RequestFactory().get("/", HTTP_USER_AGENT=user_agent, **headers)
    made.visitor_id = visitor or uuid.uuid4()
    made.user = customer.user if customer else AnonymousUser()
    return made


def visitors(count: int, seed: int = 8) -> list[uuid.UUID]:
    rng = random.Random(seed)
    return [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(count)]


def exposures() -> list[CustomerEvent]:
    drain_events()
    return list(CustomerEvent.objects.filter(event_type="experiment_exposure"))


def test_the_same_visitor_always_gets_the_same_variant():
    experiment = ExperimentFactory()
    visitor = uuid.uuid4()

    seen = {services.variant_for(experiment.key, request(visitor)).key for _ in range(20)}

    assert len(seen) == 1


def test_assignment_is_independent_across_experiments():
    first, second = ExperimentFactory(), ExperimentFactory()
    ids = visitors(2000)

    pairs = Counter((services.variant_for(first.key, request(v), expose=False).key,
                     services.variant_for(second.key, request(v), expose=False).key) for v in ids)

    assert len(pairs) == 4 and min(pairs.values()) > 400  # every combination ≈ 500


@pytest.mark.parametrize("weights", [(50, 50), (70, 30), (20, 30, 50)])
def test_the_split_matches_the_weights_over_100000_visitors(weights):
    strategies = ["trending", "personalised", "recently_viewed"][: len(weights)]
    specs = [(key, weight, strategy, key == "a")
             for key, weight, strategy in zip("abc", weights, strategies, strict=False)]
    experiment = services.definition(ExperimentFactory(variants=specs).key)

    counts = Counter(services.hashed_variant(experiment, visitor).key for visitor in visitors(100_000))

    observed = [counts[key] for key in "abc"[: len(weights)]]
    expected = [100_000 * weight / sum(weights) for weight in weights]
    assert stats.chisquare(observed, expected).pvalue > 0.001


def test_a_customer_keeps_the_variant_they_had_as_a_visitor_and_on_other_devices():
    experiment = ExperimentFactory()
    laptop, phone = visitors(2)[0], None
    as_visitor = services.variant_for(experiment.key, request(laptop)).key
    # A phone whose own visitor id would hash to the other variant: only the stored assignment keeps it.
    phone = next(v for v in visitors(50, seed=3)
                 if services.hashed_variant(services.definition(experiment.key), v).key != as_visitor)
    customer = CustomerFactory()

    visitor_identified.send(sender=type(customer), customer=customer, visitor_id=laptop, request=None)

    assert services.variant_for(experiment.key, request(laptop, customer)).key == as_visitor
    assert services.variant_for(experiment.key, request(phone, customer)).key == as_visitor
    assert ExperimentAssignment.objects.get(customer=customer).variant_key == as_visitor


def test_a_customer_first_seen_logged_in_is_assigned_once_from_their_visitor_id():
    experiment = ExperimentFactory()
    customer, visitor = CustomerFactory(), uuid.uuid4()
    expected = services.hashed_variant(services.definition(experiment.key), visitor).key

    first = services.variant_for(experiment.key, request(visitor, customer)).key
    again = services.variant_for(experiment.key, request(uuid.uuid4(), customer)).key

    assert first == again == expected
    assert ExperimentAssignment.objects.filter(customer=customer).count() == 1


@pytest.mark.parametrize("user_agent", ["Googlebot/2.1 (+http://www.google.com/bot.html)",
                                        "Mozilla/5.0 (compatible; bingbot/2.0)", "facebookexternalhit/1.1",
                                        "python-requests/2.32", "Mozilla/5.0 HeadlessChrome/126.0", ""])
def test_bots_get_the_control_and_are_not_counted(user_agent):
    experiment = ExperimentFactory()

    variants = [services.variant_for(experiment.key, request(visitor, user_agent=user_agent))
                for visitor in visitors(30)]

    assert {variant.key for variant in variants} == {"a"}
    assert all(not variant.counted and variant.tag == {} for variant in variants)
    assert exposures() == []


@pytest.mark.parametrize("header", [{"HTTP_DNT": "1"}, {"HTTP_SEC_GPC": "1"}])
def test_do_not_track_visitors_get_the_control_and_are_not_counted(header):
    experiment = ExperimentFactory()

    variants = [services.variant_for(experiment.key, request(visitor, **header)) for visitor in visitors(30)]

    assert {(variant.key, variant.counted) for variant in variants} == {("a", False)}
    assert exposures() == []


def test_the_experiment_a_surface_was_shown_under_is_remembered_per_shopper_and_surface():
    experiment = ExperimentFactory()
    shopper, other = visitors(2)

    services.variant_for(experiment.key, request(shopper), surface="block:b1")

    assert services.shown_experiment(request(shopper), "block:b1") == experiment.key
    assert services.shown_experiment(request(shopper), "block:b2") is None
    assert services.shown_experiment(request(other), "block:b1") is None


@pytest.mark.parametrize("headers", [{"user_agent": "Googlebot/2.1"}, {"HTTP_DNT": "1"}])
def test_a_surface_shown_to_a_bot_or_an_opted_out_shopper_is_not_remembered(headers):
    experiment = ExperimentFactory()
    shopper = uuid.uuid4()

    services.variant_for(experiment.key, request(shopper, **headers), surface="block:b1")

    assert services.shown_experiment(request(shopper), "block:b1") is None


def test_an_exposure_is_recorded_once_a_day_per_shopper_with_the_variant():
    experiment = ExperimentFactory()
    visitor = uuid.uuid4()

    variant = services.variant_for(experiment.key, request(visitor))
    services.variant_for(experiment.key, request(visitor))

    [exposure] = exposures()
    assert exposure.anonymous_id == visitor
    assert exposure.experiments == {experiment.key: variant.key}


def test_customers_are_exposed_as_customers():
    experiment, customer = ExperimentFactory(), CustomerFactory()

    services.variant_for(experiment.key, request(customer=customer))

    [exposure] = exposures()
    assert exposure.customer_id == customer.pk


def test_no_variant_without_a_running_live_experiment():
    now = timezone.now()
    paused = ExperimentFactory(status="paused")
    ended = ExperimentFactory(starts_at=now - dt.timedelta(days=10), ends_at=now - dt.timedelta(days=1))

    assert services.variant_for(paused.key, request()) is None
    assert services.variant_for(ended.key, request()) is None
    assert services.variant_for("no-such-experiment", request()) is None
    assert services.variant_for(None, request()) is None
    assert exposures() == []


def test_starting_pausing_and_finishing_change_what_surfaces_see():
    experiment = ExperimentFactory(status="draft", starts_at=None)
    assert services.variant_for(experiment.key, request()) is None

    transition(experiment, "start")
    assert services.variant_for(experiment.key, request()) is not None

    transition(experiment, "pause")
    assert services.variant_for(experiment.key, request()) is None

    finished = services.transition(experiment, "finish")
    assert finished.status == Experiment.Status.FINISHED and finished.ends_at > finished.starts_at
    with pytest.raises(services.TransitionError):
        services.transition(finished, "start")


def test_a_second_search_experiment_cannot_start_while_one_runs():
    variants = [("a", 1, "hybrid", True), ("b", 1, "keyword", False)]
    ExperimentFactory(surface="search", primary_metric="search_conversion", variants=variants)
    waiting = ExperimentFactory(surface="search", primary_metric="search_conversion", variants=variants,
                                status="draft", starts_at=None)

    with pytest.raises(services.TransitionError, match="Another search experiment is running"):
        services.transition(waiting, "start")


def test_the_running_search_experiment_is_found_by_surface(django_capture_on_commit_callbacks):
    assert services.running_key("search") is None
    with django_capture_on_commit_callbacks(execute=True):  # saving drops the cached answer on commit
        experiment = ExperimentFactory(surface="search", primary_metric="search_conversion",
                                       variants=[("a", 1, "hybrid", True), ("b", 1, "keyword", False)])

    assert services.running_key("search") == experiment.key


def test_a_definition_is_live_inside_its_dates_and_gone_once_paused():
    now = timezone.now()
    experiment = ExperimentFactory(starts_at=now - dt.timedelta(days=1), ends_at=now + dt.timedelta(days=1))
    running = services.definition(experiment.key)

    transition(experiment, "pause")

    assert running.is_live(now) and not running.is_live(now + dt.timedelta(days=2))
    assert services.definition(experiment.key) is None


def test_a_pause_in_another_process_is_seen_here_once_the_local_copy_expires(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(services.time, "monotonic", lambda: clock[0])
    experiment = ExperimentFactory(surface="pricing", primary_metric="average_order_value",
                                   variants=[("a", 1, "dynamic", True), ("b", 1, "base", False)])
    assert services.running_key("pricing") == experiment.key  # now remembered here for a few seconds
    # Paused by another process: it saves (no signal reaches this process) and drops the Redis copy.
    Experiment.objects.filter(pk=experiment.pk).update(status="paused")
    services.cache.delete(services.STORE_WIDE_KEY)

    stale = services.running_key("pricing")
    clock[0] += services.STORE_WIDE_LOCAL_SECONDS
    fresh = services.running_key("pricing")

    assert (stale, fresh) == (experiment.key, None)


# --- surfaces -------------------------------------------------------------------------------------


def search_experiment():
    return ExperimentFactory(surface="search", primary_metric="search_conversion",
                             variants=[("a", 1, "hybrid", True), ("b", 1, "keyword", False)])


def test_search_options_follow_the_shoppers_variant_and_tag_the_search_event():
    experiment = search_experiment()
    definition = services.definition(experiment.key)
    keyword_visitor = next(v for v in visitors(50) if services.hashed_variant(definition, v).key == "b")
    hybrid_visitor = next(v for v in visitors(50) if services.hashed_variant(definition, v).key == "a")

    keyword = services.search_options(request(keyword_visitor))
    hybrid = services.search_options(request(hybrid_visitor))

    assert keyword == {"keyword_only": True, "experiments": {experiment.key: "b"}}
    assert hybrid == {"keyword_only": False, "experiments": {experiment.key: "a"}}
    assert services.shown_experiment(request(keyword_visitor), "search") == experiment.key  # the results' beacon
    assert services.search_options(request(keyword_visitor, HTTP_DNT="1")) == {"keyword_only": False, "experiments": {}}


def test_no_search_experiment_leaves_search_alone():
    assert services.search_options(request()) == {}


def test_keyword_only_search_logs_its_variant_on_the_search_event():
    from ai.search.services import search

    experiment = search_experiment()
    visitor = uuid.uuid4()

    results = search("blue mug", visitor_id=visitor, keyword_only=True, experiments={experiment.key: "b"})

    drain_events()
    assert results.method == "keyword"
    assert CustomerEvent.objects.get(event_type="search").experiments == {experiment.key: "b"}


def test_a_carousel_with_a_running_experiment_is_per_shopper_and_uses_the_variants_strategy():
    from blocks.blocks import RecommendationCarouselBlock

    experiment = ExperimentFactory()  # a: trending (control), b: personalised
    block = RecommendationCarouselBlock()
    value = block.to_python({"title": "Picked for you", "strategy": "trending", "count": 4, "category": None,
                             "product": None, "fallback": "trending", "experiment": experiment.pk})
    definition = services.definition(experiment.key)
    visitor = next(v for v in visitors(50) if services.hashed_variant(definition, v).key == "b")

    block.get_context(value, {"personal_fragment": True, "request": request(visitor), "block_id": "b1"})

    assert block.is_per_shopper(value)
    assert services.shown_experiment(request(visitor), "block:b1") == experiment.key  # its beacon events' tag
    assert [e.experiments for e in exposures()] == [{experiment.key: "b"}]
    transition(experiment, "pause")
    assert not block.is_per_shopper(value)
