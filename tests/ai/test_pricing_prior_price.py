import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ai.pricing.models import PriceHistory
from ai.pricing.prior_price import lowest_prior_prices, prior_price_days, prior_prices_before, record_prior_prices
from ai.pricing.review import record_manual_prices
from commerce.catalogue.models import Product
from commerce.catalogue.services import set_current_price
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
prices = st.integers(min_value=100, max_value=5000).map(lambda cents: Decimal(cents) / 100)
# (hours after the previous change, new price): gaps of 1 hour to 20 days, so some histories span > 30 days.
changes = st.lists(st.tuples(st.integers(min_value=1, max_value=480), prices), min_size=1, max_size=12)


def lowest_price_held(initial: Decimal, timeline: list[tuple[dt.datetime, Decimal]], days: int) -> Decimal:
    """By brute force: the lowest of the prices in effect at any instant of [t − days, t), t the last change."""
    last = timeline[-1][0]
    window_start = last - dt.timedelta(days=days)

    def price_at(instant):
        return next((price for at, price in reversed(timeline) if at <= instant), initial)

    instants = [window_start] + [at for at, _ in timeline if window_start < at < last]
    return min(price_at(instant) for instant in instants)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(initial=prices, steps=changes)
def test_the_prior_price_is_the_lowest_price_held_in_the_30_days_before_the_latest_change(initial, steps):
    # given a product whose price moved at random times to random prices, each change in the ledger
    product = ProductFactory(base_price=initial)
    timeline, at, previous = [], START, initial
    for hours, price in steps:
        at += dt.timedelta(hours=hours)
        PriceHistory.objects.create(product=product, previous_price=previous, price=price, changed_at=at,
                                    source=PriceHistory.Source.AUTOMATIC)
        timeline.append((at, price))
        previous = price
    # when its prior price is computed
    lowest = lowest_prior_prices([product.pk], days=30)
    # then it is the lowest price in effect at any moment of the 30 days before the latest change
    assert lowest == {product.pk: lowest_price_held(initial, timeline, 30)}


def test_a_recorded_reduction_is_shown_against_the_30_day_low_not_the_base_price(client):
    # given a product raised from its base price of 20.00 to 24.00 for a while, then down to 18.00 by an editor
    product = ProductFactory(base_price=Decimal("20.00"))
    PriceHistory.objects.create(product=product, previous_price=Decimal("20.00"), price=Decimal("24.00"),
                                changed_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=3),
                                source=PriceHistory.Source.AUTOMATIC)
    set_current_price(product.pk, Decimal("18.00"), expected=Decimal("20.00"))
    # when the change is recorded
    record_manual_prices([(product.pk, Decimal("24.00"), Decimal("18.00"))], reason="clearance")
    # then the prior price is the lowest of the 30 days before (20.00, not 24.00) and the page shows it
    assert Product.objects.get(pk=product.pk).prior_price == Decimal("20.00")
    content = client.get(product.get_absolute_url()).content.decode()
    assert '<s class="price__was">£20.00</s>' in content and "Save 10%" in content
    assert "£24.00" not in content


def test_a_rise_announces_no_reduction_even_below_the_base_price(client):
    # given a product the engine lowered to 15.00 a week ago and now raises to 16.00 (still below base 20.00)
    product = ProductFactory(base_price=Decimal("20.00"))
    PriceHistory.objects.create(product=product, previous_price=Decimal("20.00"), price=Decimal("15.00"),
                                changed_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=7),
                                source=PriceHistory.Source.AUTOMATIC)
    set_current_price(product.pk, Decimal("16.00"), expected=Decimal("20.00"))
    # when the rise is recorded
    record_manual_prices([(product.pk, Decimal("15.00"), Decimal("16.00"))], reason="demand")
    # then no price is struck through and no badge is shown
    content = client.get(product.get_absolute_url()).content.decode()
    assert "£16.00" in content and "price__was" not in content and "Save" not in content


def test_a_product_without_history_gets_no_prior_price():
    product = ProductFactory(base_price=Decimal("20.00"), prior_price=Decimal("25.00"))

    record_prior_prices([product.pk])

    assert Product.objects.get(pk=product.pk).prior_price is None


def test_the_window_is_set_per_market_and_never_shorter_than_30_days(settings):
    settings.VITRINE_PRIOR_PRICE_DAYS = {"default": 30, "PL": 45}
    settings.VITRINE_COUNTRY = "PL"
    assert prior_price_days() == 45
    settings.VITRINE_COUNTRY = "GB"
    assert prior_price_days() == 30
    settings.VITRINE_PRIOR_PRICE_DAYS = {"default": 14}
    with pytest.raises(ImproperlyConfigured):
        prior_price_days()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(initial=prices, steps=changes, new_price=prices, hours=st.integers(min_value=1, max_value=480))
def test_the_prior_price_known_before_a_change_is_the_one_read_after_it_is_recorded(initial, steps, new_price,
                                                                                     hours):
    # given a product with a random price history
    product = ProductFactory(base_price=initial)
    at, previous = START, initial
    for gap, price in steps:
        at += dt.timedelta(hours=gap)
        PriceHistory.objects.create(product=product, previous_price=previous, price=price, changed_at=at,
                                    source=PriceHistory.Source.AUTOMATIC)
        previous = price
    # when a writer computes the prior price of its next change before recording it
    at += dt.timedelta(hours=hours)
    before = prior_prices_before({product.pk: previous}, at)
    PriceHistory.objects.create(product=product, previous_price=previous, price=new_price, changed_at=at,
                                source=PriceHistory.Source.AUTOMATIC)
    # then it is what reading the history after the change gives
    assert before == lowest_prior_prices([product.pk])
