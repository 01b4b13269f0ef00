import datetime as dt
import random
import uuid
from collections import Counter

import pytest
from django.utils import timezone
from scipy import stats

from ai.experiments import serving
from ai.experiments.models import Experiment, ExperimentAssignment
from commerce.customers.signals import visitor_identified
from commerce.events.models import CustomerEvent
from commerce.events.services import drain_events
from tests.factories import CustomerFactory, ExperimentFactory, shopper_request, transition, visitor_in

pytestmark = pytest.mark.django_db


def visitors(count: int, seed: int = 8) -> list[uuid.UUID]:
    rng = random.Random(seed)
    return [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(count)]


def exposures() -> list[CustomerEvent]:
    drain_events()
    return list(CustomerEvent.objects.filter(event_type="experiment_exposure"))


def test_the_same_visitor_always_gets_the_same_variant():
    experiment = ExperimentFactory()
    visitor = uuid.uuid4()

    seen = {serving.variant_for(experiment.key, shopper_request(visitor)).key for _ in range(20)}

    assert len(seen) == 1


def test_assignment_is_independent_across_experiments():
    first, second = ExperimentFactory(), ExperimentFactory()
    ids = visitors(2000)

    pairs = Counter((serving.variant_for(first.key, shopper_request(v)).key,
                     serving.variant_for(second.key, shopper_request(v)).key) for v in ids)

    assert len(pairs) == 4 and min(pairs.values()) > 400  # every combination ≈ 500


@pytest.mark.parametrize("weights", [(50, 50), (70, 30), (20, 30, 50)])
def test_the_split_matches_the_weights_over_100000_visitors(weights):
    strategies = ["trending", "personalised", "recently_viewed"][: len(weights)]
    specs = [(key, weight, strategy, key == "a")
             for key, weight, strategy in zip("abc", weights, strategies, strict=False)]
    experiment = serving.definition(ExperimentFactory(variants=specs).key)

    counts = Counter(serving.hashed_variant(experiment, visitor).key for visitor in visitors(100_000))

    observed = [counts[key] for key in "abc"[: len(weights)]]
    expected = [100_000 * weight / sum(weights) for weight in weights]
    assert stats.chisquare(observed, expected).pvalue > 0.001


def test_a_customer_keeps_the_variant_they_had_as_a_visitor_and_on_other_devices():
    experiment = ExperimentFactory()
    laptop, phone = visitors(2)[0], None
    as_visitor = serving.variant_for(experiment.key, shopper_request(laptop)).key
    # A phone whose own visitor id would hash to the other variant: only the stored assignment keeps it.
    phone = next(v for v in visitors(50, seed=3)
                 if serving.hashed_variant(serving.definition(experiment.key), v).key != as_visitor)
    customer = CustomerFactory()

    visitor_identified.send(sender=type(customer), customer=customer, visitor_id=laptop, request=None)

    assert serving.variant_for(experiment.key, shopper_request(laptop, customer)).key == as_visitor
    assert serving.variant_for(experiment.key, shopper_request(phone, customer)).key == as_visitor
    assert ExperimentAssignment.objects.get(customer=customer).variant_key == as_visitor


def test_a_customer_first_seen_logged_in_is_assigned_once_from_their_visitor_id():
    experiment = ExperimentFactory()
    customer, visitor = CustomerFactory(), uuid.uuid4()
    expected = serving.hashed_variant(serving.definition(experiment.key), visitor).key

    first = serving.variant_for(experiment.key, shopper_request(visitor, customer)).key
    again = serving.variant_for(experiment.key, shopper_request(uuid.uuid4(), customer)).key

    assert first == again == expected
    assert ExperimentAssignment.objects.filter(customer=customer).count() == 1


@pytest.mark.parametrize("user_agent", ["Googlebot/2.1 (+http://www.google.com/bot.html)",
                                        "Mozilla/5.0 (compatible; bingbot/2.0)", "facebookexternalhit/1.1",
                                        "python-requests/2.32", "Mozilla/5.0 HeadlessChrome/126.0", ""])
def test_bots_get_the_control_and_are_not_counted(user_agent):
    experiment = ExperimentFactory()

    bots = [shopper_request(visitor, user_agent=user_agent) for visitor in visitors(30)]

    variants = [serving.variant_for(experiment.key, bot) for bot in bots]
    recorded = [serving.record_exposure(variant, bot) for variant, bot in zip(variants, bots, strict=True)]

    assert {variant.key for variant in variants} == {"a"}
    assert all(not variant.counted and variant.tag == {} for variant in variants)
    assert not any(recorded) and exposures() == []


@pytest.mark.parametrize("header", [{"HTTP_DNT": "1"}, {"HTTP_SEC_GPC": "1"}])
def test_do_not_track_visitors_get_the_control_and_are_not_counted(header):
    experiment = ExperimentFactory()

    shoppers = [shopper_request(visitor, **header) for visitor in visitors(30)]

    variants = [serving.variant_for(experiment.key, shopper) for shopper in shoppers]
    recorded = [serving.record_exposure(variant, shopper) for variant, shopper in zip(variants, shoppers, strict=True)]

    assert {(variant.key, variant.counted) for variant in variants} == {("a", False)}
    assert not any(recorded) and exposures() == []


def test_the_experiment_a_surface_was_shown_under_is_remembered_per_shopper_and_surface():
    experiment = ExperimentFactory()
    shopper, other = visitors(2)

    shown = shopper_request(shopper)
    serving.record_exposure(serving.variant_for(experiment.key, shown), shown, surface="block:b1")

    assert serving.shown_experiment(shopper_request(shopper), "block:b1") == experiment.key
    assert serving.shown_experiment(shopper_request(shopper), "block:b2") is None
    assert serving.shown_experiment(shopper_request(other), "block:b1") is None


@pytest.mark.parametrize("headers", [{"user_agent": "Googlebot/2.1"}, {"HTTP_DNT": "1"}])
def test_a_surface_shown_to_a_bot_or_an_opted_out_shopper_is_not_remembered(headers):
    experiment = ExperimentFactory()
    shopper = uuid.uuid4()

    shown = shopper_request(shopper, **headers)
    serving.record_exposure(serving.variant_for(experiment.key, shown), shown, surface="block:b1")

    assert serving.shown_experiment(shopper_request(shopper), "block:b1") is None


def test_asking_for_the_variant_records_no_exposure_and_no_shown_surface():
    experiment = ExperimentFactory()
    visitor = uuid.uuid4()

    variant = serving.variant_for(experiment.key, shopper_request(visitor))

    assert variant is not None and variant.counted
    assert exposures() == []
    assert serving.shown_experiment(shopper_request(visitor), "block:b1") is None


def test_an_exposure_is_recorded_once_a_day_per_shopper_with_the_variant():
    experiment = ExperimentFactory()
    visitor = uuid.uuid4()
    today = timezone.now()
    variant = serving.variant_for(experiment.key, shopper_request(visitor))

    first = serving.record_exposure(variant, shopper_request(visitor), now=today)
    again = serving.record_exposure(variant, shopper_request(visitor), now=today)
    next_day = serving.record_exposure(variant, shopper_request(visitor), now=today + dt.timedelta(days=1))

    assert (first, again, next_day) == (True, False, True)
    recorded = exposures()
    assert [exposure.anonymous_id for exposure in recorded] == [visitor, visitor]
    assert all(exposure.experiments == {experiment.key: variant.key} for exposure in recorded)


def test_customers_are_exposed_as_customers():
    experiment, customer = ExperimentFactory(), CustomerFactory()
    shopper = shopper_request(customer=customer)

    serving.record_exposure(serving.variant_for(experiment.key, shopper), shopper)

    [exposure] = exposures()
    assert exposure.customer_id == customer.pk


def test_no_variant_without_a_running_live_experiment():
    now = timezone.now()
    paused = ExperimentFactory(status="paused")
    ended = ExperimentFactory(starts_at=now - dt.timedelta(days=10), ends_at=now - dt.timedelta(days=1))

    assert serving.variant_for(paused.key, shopper_request()) is None
    assert serving.variant_for(ended.key, shopper_request()) is None
    assert serving.variant_for("no-such-experiment", shopper_request()) is None
    assert serving.variant_for(None, shopper_request()) is None


def test_starting_pausing_and_finishing_change_what_surfaces_see():
    experiment = ExperimentFactory(status="draft", starts_at=None)
    assert serving.variant_for(experiment.key, shopper_request()) is None

    transition(experiment, "start")
    assert serving.variant_for(experiment.key, shopper_request()) is not None

    transition(experiment, "pause")
    assert serving.variant_for(experiment.key, shopper_request()) is None

    finished = serving.transition(experiment, "finish")
    assert finished.status == Experiment.Status.FINISHED and finished.ends_at > finished.starts_at
    with pytest.raises(serving.TransitionError):
        serving.transition(finished, "start")


def test_a_second_search_experiment_cannot_start_while_one_runs():
    variants = [("a", 1, "hybrid", True), ("b", 1, "keyword", False)]
    ExperimentFactory(surface="search", primary_metric="search_conversion", variants=variants)
    waiting = ExperimentFactory(surface="search", primary_metric="search_conversion", variants=variants,
                                status="draft", starts_at=None)

    with pytest.raises(serving.TransitionError, match="Another search experiment is running"):
        serving.transition(waiting, "start")


def test_the_running_search_experiment_is_found_by_surface(django_capture_on_commit_callbacks):
    assert serving.running_key("search") is None
    with django_capture_on_commit_callbacks(execute=True):  # saving drops the cached answer on commit
        experiment = ExperimentFactory(surface="search", primary_metric="search_conversion",
                                       variants=[("a", 1, "hybrid", True), ("b", 1, "keyword", False)])

    assert serving.running_key("search") == experiment.key


def test_a_definition_is_live_inside_its_dates_and_gone_once_paused():
    now = timezone.now()
    experiment = ExperimentFactory(starts_at=now - dt.timedelta(days=1), ends_at=now + dt.timedelta(days=1))
    running = serving.definition(experiment.key)

    transition(experiment, "pause")

    assert running.is_live(now) and not running.is_live(now + dt.timedelta(days=2))
    assert serving.definition(experiment.key) is None


def test_a_definition_found_by_id_is_the_same_and_gone_once_paused():
    experiment = ExperimentFactory()
    by_id, by_key = serving.definition_for_id(experiment.pk), serving.definition(experiment.key)

    transition(experiment, "pause")

    assert by_id is not None and by_id == by_key
    assert serving.definition_for_id(experiment.pk) is None


def test_a_pause_in_another_process_is_seen_here_once_the_local_copy_expires(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(serving.time, "monotonic", lambda: clock[0])
    experiment = ExperimentFactory(surface="pricing", primary_metric="average_order_value",
                                   variants=[("a", 1, "dynamic", True), ("b", 1, "base", False)])
    assert serving.running_key("pricing") == experiment.key  # now remembered here for a few seconds
    # Paused by another process: it saves (no signal reaches this process) and drops the Redis copy.
    Experiment.objects.filter(pk=experiment.pk).update(status="paused")
    serving.cache.delete(serving.STORE_WIDE_KEY)

    stale = serving.running_key("pricing")
    clock[0] += serving.STORE_WIDE_LOCAL_SECONDS
    fresh = serving.running_key("pricing")

    assert (stale, fresh) == (experiment.key, None)


def test_a_block_experiment_paused_in_another_process_is_seen_here_once_the_local_copy_expires(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(serving.time, "monotonic", lambda: clock[0])
    experiment = ExperimentFactory()
    assert serving.definition_for_id(experiment.pk).key == experiment.key  # remembered here a few seconds
    # Paused by another process: it saves (no signal reaches this process) and drops the Redis copy.
    Experiment.objects.filter(pk=experiment.pk).update(status="paused")
    serving.cache.delete(serving.DEFINITION_BY_ID_KEY.format(experiment.pk))

    stale = serving.definition_for_id(experiment.pk)
    clock[0] += serving.DEFINITION_LOCAL_SECONDS
    fresh = serving.definition_for_id(experiment.pk)

    assert (stale.key, fresh) == (experiment.key, None)


# --- surfaces -------------------------------------------------------------------------------------


def search_experiment():
    return ExperimentFactory(surface="search", primary_metric="search_conversion",
                             variants=[("a", 1, "hybrid", True), ("b", 1, "keyword", False)])


def test_search_options_follow_the_shoppers_variant_and_record_nothing():
    experiment = search_experiment()
    definition = serving.definition(experiment.key)
    keyword_visitor = next(v for v in visitors(50) if serving.hashed_variant(definition, v).key == "b")
    hybrid_visitor = next(v for v in visitors(50) if serving.hashed_variant(definition, v).key == "a")

    keyword = serving.search_options(shopper_request(keyword_visitor))
    hybrid = serving.search_options(shopper_request(hybrid_visitor))

    assert keyword == {"keyword_only": True, "experiments": {experiment.key: "b"}}
    assert hybrid == {"keyword_only": False, "experiments": {experiment.key: "a"}}
    opted_out = serving.search_options(shopper_request(keyword_visitor, HTTP_DNT="1"))
    assert opted_out == {"keyword_only": False, "experiments": {}}
    assert exposures() == [] and serving.shown_experiment(shopper_request(keyword_visitor), "search") is None


def test_showing_search_results_records_the_exposure_and_the_results_beacon_surface():
    experiment = search_experiment()
    keyword_visitor = visitor_in(experiment, "b")

    recorded = serving.record_search_exposure(shopper_request(keyword_visitor))

    assert recorded
    assert [exposure.experiments for exposure in exposures()] == [{experiment.key: "b"}]
    assert serving.shown_experiment(shopper_request(keyword_visitor), "search") == experiment.key


def test_showing_search_results_to_an_opted_out_shopper_records_nothing():
    experiment = search_experiment()
    opted_out = shopper_request(visitor_in(experiment, "b"), HTTP_DNT="1")

    recorded = serving.record_search_exposure(opted_out)

    assert not recorded and exposures() == []
    assert serving.shown_experiment(opted_out, "search") is None


def test_no_search_experiment_leaves_search_alone_and_records_nothing():
    assert serving.search_options(shopper_request()) == {}
    assert not serving.record_search_exposure(shopper_request())


def test_keyword_only_search_logs_its_variant_on_the_search_event():
    from ai.search.serving import search

    experiment = search_experiment()
    visitor = uuid.uuid4()

    results = search("blue mug", visitor_id=visitor, keyword_only=True, experiments={experiment.key: "b"})

    drain_events()
    assert results.method == "keyword"
    assert CustomerEvent.objects.get(event_type="search").experiments == {experiment.key: "b"}

