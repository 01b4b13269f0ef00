"""The time-window queries the AI reads (``commerce.events.queries``), over events stored as the drain stores them."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from commerce.events import queries, services
from tests.factories import CategoryFactory, CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def at(hours_ago: float) -> dt.datetime:
    return NOW - dt.timedelta(hours=hours_ago)


def seed(event_type, product, hours_ago, *, customer=None, quantity=1, visitor=None):
    services.store_events([{
        "id": str(uuid.uuid4()), "created_at": at(hours_ago).isoformat(), "event_type": event_type,
        "customer_id": customer.pk if customer else None, "anonymous_id": str(visitor) if visitor else None,
        "product_id": product.pk, "quantity": quantity,
    }])


def priced_event(event_type, product, hours_ago, price, *, quantity=1):
    services.store_events([{"id": str(uuid.uuid4()), "created_at": at(hours_ago).isoformat(), "event_type": event_type,
                            "product_id": product.pk, "quantity": quantity, "price": price}])


def tagged(event_type: str, hours_ago: float, experiments: dict, *, customer=None, visitor=None) -> None:
    services.store_events([{"id": str(uuid.uuid4()), "created_at": at(hours_ago).isoformat(), "event_type": event_type,
                            "customer_id": customer.pk if customer else None,
                            "anonymous_id": str(visitor) if visitor else None, "experiments": experiments}])


def test_preferred_categories_are_weighted_and_time_decayed():
    customer = CustomerFactory()
    coffee, garden = CategoryFactory(name="Coffee"), CategoryFactory(name="Garden")
    dripper, spade = ProductFactory(category=coffee), ProductFactory(category=garden)
    seed("purchase", dripper, 24 * 28, customer=customer)  # 10 × 0.25 (two half-lives ago) = 2.5
    seed("view", spade, 0.001, customer=customer)  # 1 × ~1
    seed("add_to_cart", spade, 0.001, customer=customer)  # 4 × ~1

    ranked = queries.preferred_categories(customer.pk, now=NOW, half_life_days=14)

    assert ranked == [(garden.pk, pytest.approx(5.0, rel=1e-4)), (coffee.pk, pytest.approx(2.5))]


def test_returns_subtract_from_preferences():
    customer, product = CustomerFactory(), ProductFactory()
    seed("purchase", product, 1, customer=customer)
    seed("return", product, 1, customer=customer)
    assert queries.preferred_categories(customer.pk, now=NOW) == []


def test_recently_viewed_is_most_recent_first_and_distinct():
    visitor = uuid.uuid4()
    a, b, c = ProductFactory(), ProductFactory(), ProductFactory()
    seed("view", a, 5, visitor=visitor)
    seed("view", b, 3, visitor=visitor)
    seed("view", a, 1, visitor=visitor)
    seed("view", c, 0.5)  # someone else

    assert queries.recently_viewed(visitor_id=visitor, now=NOW) == [a.pk, b.pk]


def test_popular_products_by_weighted_engagement_within_a_category_subtree():
    home = CategoryFactory(name="Home")
    kitchen = CategoryFactory(name="Kitchen", parent=home)
    viewed_a_lot, bought, elsewhere = (ProductFactory(category=kitchen), ProductFactory(category=home),
                                       ProductFactory())
    hidden = ProductFactory(category=kitchen, active=False)
    now_hours = (NOW - timezone.now()).total_seconds() / 3600  # popular_products uses the real clock
    for _ in range(5):
        seed("view", viewed_a_lot, now_hours + 1)
    seed("purchase", bought, now_hours + 1)  # 10 > 5 × 1
    seed("purchase", elsewhere, now_hours + 1)
    seed("purchase", hidden, now_hours + 1)

    assert queries.popular_products(category_id=home.pk) == [bought.pk, viewed_a_lot.pk]
    assert queries.popular_products()[:1] in ([bought.pk], [elsewhere.pk])


def test_trending_products_rise_against_their_own_baseline_and_one_view_does_not_trend():
    # given: trending_products uses the real clock
    garden = CategoryFactory(name="Garden")
    steady, burst, single = ProductFactory(), ProductFactory(), ProductFactory()
    rising = ProductFactory(category=garden)
    hidden = ProductFactory(active=False)
    now_hours = (NOW - timezone.now()).total_seconds() / 3600
    views = []
    for day in range(2, 30):  # the 28 days before the last two
        views += [(steady, day), (steady, day + 0.3), (steady, day + 0.6), (rising, day + 0.5)]
    views += [(steady, hours / 24) for hours in (1, 10, 20, 30, 40, 45)]  # its usual three a day
    views += [(rising, hours / 24) for hours in range(1, 41, 4)]  # ten in two days against one a day
    views += [(burst, hours / 24) for hours in range(1, 13, 2)]  # six, and none before
    views += [(hidden, hours / 24) for hours in range(1, 13, 2)]
    views += [(single, 0.1)]
    services.store_events([{"id": str(uuid.uuid4()), "created_at": at(now_hours + days * 24).isoformat(),
                            "event_type": "view", "product_id": product.pk, "quantity": 1}
                           for product, days in views])

    # when
    found = queries.trending_products()

    # then: a steady seller is not rising, however popular
    assert found == [burst.pk, rising.pk]
    assert queries.trending_products(category_id=garden.pk) == [rising.pk]


def test_product_demand_counts_the_last_day_and_the_week_before_it_in_one_scan():
    mug, lamp, vase = ProductFactory(), ProductFactory(), ProductFactory()
    for hours in (1, 2, 30):  # the view 30 hours ago is before the last day
        seed("view", mug, hours)
    seed("add_to_cart", mug, 3)
    seed("add_to_cart", mug, 25)  # before the last day
    seed("purchase", mug, 4, quantity=2)
    seed("purchase", mug, 24 * 3, quantity=7)
    seed("purchase", mug, 24 * 9, quantity=100)  # before the week
    seed("purchase", lamp, 24 * 5, quantity=3)  # sold last week only
    seed("view", vase, 30)  # viewed before the last day only: no row

    sql, params = queries.product_demand_query(NOW)
    rows = {row[0]: row[1:] for row in queries._rows(sql, params)}

    assert rows == {mug.pk: (2, 1, 2, pytest.approx(1.0)), lamp.pk: (0, 0, 0, pytest.approx(3 / 7))}


def test_daily_product_activity_counts_each_products_days_with_the_price_shown():
    mug, lamp = ProductFactory(), ProductFactory()
    priced_event("view", mug, 70, "10.00")  # day 0 is 72 to 48 hours ago
    priced_event("view", mug, 69, "12.00")
    priced_event("add_to_cart", mug, 60, None)
    priced_event("purchase", mug, 50, "9.00", quantity=2)  # a view's price was shown that day
    priced_event("search", mug, 40, None)  # day 1: not demand
    priced_event("purchase", mug, 10, "8.00", quantity=3)  # day 2: no view, the price paid
    priced_event("add_to_cart", lamp, 30, None)
    priced_event("view", lamp, 80, "5.00")  # before the start

    rows = queries.daily_product_activity(at(72), NOW)

    assert rows == [(mug.pk, 0, 2, 1, 2, 11.0), (mug.pk, 2, 0, 0, 3, 8.0), (lamp.pk, 1, 0, 1, 0, None)]


def test_interaction_totals_sum_weights_per_customer_and_product_within_the_window():
    alice, bob = CustomerFactory(), CustomerFactory()
    mug, lamp = ProductFactory(), ProductFactory()
    seed("view", mug, 1, customer=alice)
    seed("add_to_cart", mug, 2, customer=alice)
    seed("purchase", lamp, 3, customer=alice)
    seed("return", lamp, 2, customer=alice)
    seed("purchase", mug, 48, customer=alice)  # before the window
    seed("search", mug, 1, customer=alice)  # not a weighted type
    seed("view", mug, 1, customer=bob)
    seed("view", mug, 1, visitor=uuid.uuid4())  # anonymous
    weights = {"view": 1.0, "add_to_cart": 3.0, "purchase": 8.0, "return": -8.0}

    every = queries.interaction_totals(weights, at(24), NOW)
    bobs = queries.interaction_totals(weights, at(24), NOW, customer_id=bob.pk)

    assert sorted(every) == sorted([(alice.pk, mug.pk, 4.0, False), (alice.pk, lamp.pk, 0.0, True),
                                    (bob.pk, mug.pk, 1.0, False)])
    assert bobs == [(bob.pk, mug.pk, 1.0, False)]


def test_interaction_log_lists_customers_product_events_oldest_first():
    customer, mug = CustomerFactory(), ProductFactory()
    seed("purchase", mug, 1, customer=customer, quantity=2)
    seed("view", mug, 5, customer=customer)
    seed("view", mug, 48, customer=customer)  # before ``since``
    seed("search", mug, 2, customer=customer)
    seed("view", mug, 2, visitor=uuid.uuid4())  # anonymous

    assert list(queries.interaction_log(at(24))) == [(customer.pk, mug.pk, at(5), "view", 1, None),
                                                      (customer.pk, mug.pk, at(1), "purchase", 2, None)]


def test_first_exposures_are_each_shoppers_first_in_the_window_a_customer_one_shopper_on_every_device():
    customer, laptop, phone, visitor = CustomerFactory(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    tagged("experiment_exposure", 30, {"home": "b"}, customer=customer, visitor=laptop)
    tagged("experiment_exposure", 20, {"home": "a"}, customer=customer, visitor=phone)
    tagged("experiment_exposure", 10, {"home": "a"}, visitor=visitor)
    tagged("experiment_exposure", 50, {"home": "b"}, visitor=uuid.uuid4())  # before the window
    tagged("experiment_exposure", 10, {"other": "a"}, visitor=uuid.uuid4())  # another experiment
    tagged("recommendation_click", 10, {"home": "a"}, visitor=uuid.uuid4())  # not an exposure

    rows = queries._rows(*queries.first_exposures_query("home", at(40), NOW))
    per_variant = queries.exposed_per_variant("home", since=at(40), until=NOW)

    assert sorted(rows) == [(f"c{customer.pk}", customer.pk, laptop, "b", at(30)),
                            (f"v{visitor}", None, visitor, "a", at(10))]
    assert per_variant == {"a": 1, "b": 1}


def test_visitor_links_are_the_visitor_ids_customers_logged_in_with():
    customer, visitor = CustomerFactory(), uuid.uuid4()
    services.link_visitor(customer.pk, visitor)

    assert queries._rows(*queries.visitor_links_query()) == [(customer.pk, visitor)]


def test_recommendation_engagement_counts_impressions_and_clicks_per_variant_and_local_day():
    for hours in (1, 1, 13):  # 11:00 and 23:00 the day before in UTC; 20:00 and 08:00 the same day in Tokyo
        tagged("recommendation_impression", hours, {"home": "a"}, visitor=uuid.uuid4())
    tagged("recommendation_click", 1, {"home": "a"}, visitor=uuid.uuid4())
    tagged("recommendation_impression", 2, {"home": "b"}, visitor=uuid.uuid4())
    tagged("recommendation_click", 2, {}, visitor=uuid.uuid4())  # untagged
    tagged("recommendation_impression", 30, {"home": "b"}, visitor=uuid.uuid4())  # before the window

    utc = queries.recommendation_engagement_per_variant("home", since=at(24), until=NOW, time_zone="UTC",
                                                        before_days=30)
    tokyo = queries.recommendation_engagement_per_variant("home", since=at(24), until=NOW, time_zone="Asia/Tokyo",
                                                          before_days=30)

    today, yesterday = NOW.date(), NOW.date() - dt.timedelta(days=1)
    assert [row[:4] for row in sorted(utc)] == [("a", yesterday, 1, 0), ("a", today, 2, 1), ("b", today, 1, 0)]
    assert [row[:4] for row in sorted(tokyo)] == [("a", today, 3, 1), ("b", today, 1, 0)]
    assert {row[4:] for row in utc + tokyo} == {(0, 0, 0)}  # nobody clicked before


def test_recommendation_engagement_carries_each_shoppers_clicks_before_they_met_the_experiment():
    customer, visitor = CustomerFactory(), uuid.uuid4()
    for hours in (30, 40, 24 * 31):  # the last is more than 3 days before they met it
        tagged("recommendation_click", hours, {}, customer=customer)
    tagged("recommendation_click", 25, {}, visitor=visitor)
    tagged("recommendation_click", 23, {}, customer=customer)  # after meeting it: an outcome, not the past
    tagged("experiment_exposure", 24, {"home": "b"}, customer=customer)
    tagged("recommendation_impression", 20, {"home": "b"}, customer=customer)
    tagged("recommendation_impression", 20, {"home": "b"}, customer=customer)
    tagged("recommendation_impression", 20, {"home": "b"}, visitor=visitor)  # met at this impression
    tagged("recommendation_click", 20, {"home": "b"}, customer=customer)

    [row] = queries.recommendation_engagement_per_variant("home", since=at(48), until=NOW, time_zone="UTC",
                                                          before_days=3)

    # the customer clicked twice in their 3 days before (x = 2), the visitor once (x = 1)
    assert row[2:] == (3, 1, 2 * 2 + 1 * 1, 2 * 4 + 1 * 1, 1 * 2)

