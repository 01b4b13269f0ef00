"""The pricing surface end to end: a running pricing experiment decides, per shopper, whether the shop
shows and charges the current (dynamic) price or the base price, everywhere a price appears; orders
and purchase events carry the variants."""

import uuid
from decimal import Decimal

import pytest
from django.test import TestCase
from django.utils import timezone

from ai.experiments import serving, storefront
from ai.experiments.models import Experiment, Variant, variant_problems
from commerce.catalogue.models import PriceList
from commerce.events.models import CustomerEvent
from commerce.events.services import drain_events
from commerce.orders.models import CartLine, Order
from home.models import HomePage
from tests.factories import ExperimentFactory, ProductFactory, browse_as, shopper_request, transition, visitor_in

pytestmark = pytest.mark.django_db

CHECKOUT = {"email": "sam@example.com", "full_name": "Sam Shopper", "line1": "1 High Street", "line2": "",
            "city": "Bristol", "postcode": "BS1 1AA", "country": "GB"}


@pytest.fixture
def pricing_experiment():
    return ExperimentFactory(surface="pricing", primary_metric="average_order_value",
                             variants=[("dynamic", 50, "dynamic", True), ("base", 50, "base", False)])


@pytest.fixture
def discounted():
    """On sale by dynamic pricing: 8.00 now, 10.00 base and the lowest price of the 30 days before."""
    return ProductFactory(title="Walnut serving board", base_price=Decimal("10.00"), price=Decimal("8.00"),
                          prior_price=Decimal("10.00"), stock=5)


def buy(client, product) -> Order | None:
    """Add two to the cart and check out, running what waits for the commit (the cart and order signals)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        client.post("/cart/add/", {"product": product.pk, "quantity": 2})
        client.post("/checkout/", CHECKOUT)
    return Order.objects.order_by("-pk").first()


def test_the_base_price_variant_sees_and_pays_the_base_price_and_is_tagged(client, pricing_experiment, discounted):
    shopper = browse_as(client, visitor_in(pricing_experiment, "base"))

    page = shopper.get(discounted.get_absolute_url()).content.decode()
    order = buy(shopper, discounted)

    assert "£10.00" in page and "£8.00" not in page and "Save" not in page
    assert "THIS PRICE WAS SET BY AN ALGORITHM USING YOUR PERSONAL DATA" in page  # a per-shopper price, disclosed
    assert order.total == Decimal("20.00") and order.lines.get().unit_price == Decimal("10.00")
    assert order.experiments == {pricing_experiment.key: "base"}
    drain_events()
    events = {event.event_type: event for event in CustomerEvent.objects.all()}
    assert events["view"].price == events["add_to_cart"].price == events["purchase"].price == Decimal("10.00")
    assert events["purchase"].experiments == {pricing_experiment.key: "base"}
    assert events["experiment_exposure"].experiments == {pricing_experiment.key: "base"}


def test_the_dynamic_price_variant_sees_and_pays_the_current_price(client, pricing_experiment, discounted):
    shopper = browse_as(client, visitor_in(pricing_experiment, "dynamic"))

    page = shopper.get(discounted.get_absolute_url()).content.decode()
    order = buy(shopper, discounted)

    assert "£8.00" in page and "£10.00" in page and "Save 20%" in page  # the prior price struck through
    assert order.total == Decimal("16.00")
    assert order.experiments == {pricing_experiment.key: "dynamic"}


def test_do_not_track_shoppers_pay_the_control_price_uncounted_and_check_out_without_a_price_change(
        client, pricing_experiment, discounted):
    shopper = browse_as(client, visitor_in(pricing_experiment, "base"), HTTP_DNT="1")

    page = shopper.get(discounted.get_absolute_url()).content.decode()
    order = buy(shopper, discounted)

    assert "£8.00" in page
    assert order is not None and order.total == Decimal("16.00") and order.experiments == {}
    drain_events()
    assert not CustomerEvent.objects.filter(event_type="experiment_exposure").exists()


def test_without_a_running_pricing_experiment_everyone_pays_the_current_price(client, pricing_experiment, discounted):
    shopper = browse_as(client, visitor_in(pricing_experiment, "base"))
    transition(pricing_experiment, "pause")

    order = buy(shopper, discounted)

    assert order.total == Decimal("16.00") and order.experiments == {}


def test_listings_and_the_price_and_recommendation_apis_show_the_variants_price(client, pricing_experiment, discounted):
    shopper = browse_as(client, visitor_in(pricing_experiment, "base"))

    listing = shopper.get("/shop/").content.decode()
    price = shopper.get(f"/api/v1/prices/{discounted.pk}").json()

    assert "£10.00" in listing and "£8.00" not in listing
    assert (price["price"], price["base_price"]) == ("10.00", "10.00")


def test_sorting_and_filtering_by_price_use_the_variants_price(client, pricing_experiment):
    ProductFactory(title="Raised jug", base_price=Decimal("10.00"), price=Decimal("30.00"))
    ProductFactory(title="Lowered jug", base_price=Decimal("20.00"), price=Decimal("15.00"))
    base, dynamic = visitor_in(pricing_experiment, "base"), visitor_in(pricing_experiment, "dynamic")

    def order(visitor) -> list[str]:
        page = browse_as(client, visitor).get("/shop/", {"sort": "price"}).content.decode()
        return sorted(("Raised jug", "Lowered jug"), key=page.index)

    assert order(base) == ["Raised jug", "Lowered jug"]  # 10.00 before 20.00
    assert order(dynamic) == ["Lowered jug", "Raised jug"]  # 15.00 before 30.00


def test_a_cart_filled_before_the_experiment_started_asks_the_shopper_to_accept_their_new_price(
        client, pricing_experiment, discounted):
    shopper = browse_as(client, visitor_in(pricing_experiment, "base"))
    transition(pricing_experiment, "pause")
    shopper.post("/cart/add/", {"product": discounted.pk, "quantity": 1})
    transition(pricing_experiment, "start")

    refused = shopper.post("/checkout/", CHECKOUT)
    shopper.post("/cart/accept-prices/")
    order = buy(shopper, discounted)

    assert refused.status_code == 302 and not Order.objects.exclude(pk=order.pk).exists()
    assert order.total == Decimal("30.00")  # 1 + 2 at the base price they accepted


def test_cached_block_html_is_kept_apart_per_price_list(client, pricing_experiment, discounted):
    home = HomePage.objects.first()
    home.body = [("priced_products", {"title": "This week's prices", "products": [discounted]})]
    home.save_revision().publish()
    base, dynamic = visitor_in(pricing_experiment, "base"), visitor_in(pricing_experiment, "dynamic")

    # The base shopper renders (and caches) first; the dynamic one must not be served that HTML.
    first_base = browse_as(client, base).get("/").content.decode()
    first_dynamic = browse_as(client, dynamic).get("/").content.decode()
    again_base = browse_as(client, base).get("/").content.decode()

    block = 'class="product-section ai-block ai-priced"'
    assert block in first_base and block in first_dynamic
    assert "£8.00" not in first_base and "£8.00" in first_dynamic
    assert "£8.00" not in again_base


def test_the_tags_name_every_running_experiment_and_none_for_bots(pricing_experiment):
    carousel = ExperimentFactory()
    visitor = uuid.uuid4()

    tags = storefront.experiment_tags(shopper_request(visitor))
    bot = shopper_request(visitor, user_agent="Googlebot/2.1 (+http://www.google.com/bot.html)")
    bot_tags = storefront.experiment_tags(bot)

    definitions = [serving.definition(key) for key in (pricing_experiment.key, carousel.key)]
    assert tags == {d.key: serving.hashed_variant(d, visitor).key for d in definitions}
    assert bot_tags == {}
    drain_events()
    assert not CustomerEvent.objects.filter(event_type="experiment_exposure").exists()  # tagging shows nothing


def test_only_one_pricing_experiment_runs_at_a_time(pricing_experiment):
    second = ExperimentFactory(surface="pricing", primary_metric="average_order_value", status="draft", starts_at=None,
                               variants=[("dynamic", 50, "dynamic", True), ("base", 50, "base", False)])

    with pytest.raises(serving.TransitionError, match="Another pricing experiment is running"):
        transition(second, "start")


def test_the_price_list_follows_the_variant_and_a_finished_experiment_ends_it(pricing_experiment):
    base = visitor_in(pricing_experiment, "base")

    running = storefront.price_list(shopper_request(base))
    transition(pricing_experiment, "finish")
    finished = storefront.price_list(shopper_request(base))

    assert (running, finished) == (PriceList.BASE, PriceList.CURRENT)
    assert Experiment.objects.get(pk=pricing_experiment.pk).ends_at <= timezone.now()


def test_carousel_strategies_are_refused_on_the_pricing_surface():
    variants = [Variant(key="a", weight=1, strategy="dynamic", is_control=True),
                Variant(key="b", weight=1, strategy="trending")]

    assert variant_problems("pricing", variants) == ["Variant 'b': strategy 'trending' does not apply to Pricing."]


def test_cart_lines_keep_the_price_the_shopper_saw(client, pricing_experiment, discounted):
    shopper = browse_as(client, visitor_in(pricing_experiment, "base"))

    shopper.post("/cart/add/", {"product": discounted.pk, "quantity": 1})

    assert CartLine.objects.get().seen_unit_price == Decimal("10.00")


def test_beacon_events_get_the_variant_shown_on_their_surface_while_the_experiment_runs():
    experiment = ExperimentFactory()
    shopper = visitor_in(experiment, "b")
    shown = shopper_request(shopper)
    serving.record_exposure(serving.variant_for(experiment.key, shown), shown, surface="block:b1")

    assert storefront.surface_tags(shopper_request(shopper), "block:b1") == {experiment.key: "b"}
    assert storefront.surface_tags(shopper_request(shopper), "block:b2") == {}  # shown under no experiment
    assert storefront.surface_tags(shopper_request(shopper, HTTP_DNT="1"), "block:b1") == {}  # not counted
    transition(experiment, "pause")
    assert storefront.surface_tags(shopper_request(shopper), "block:b1") == {}
