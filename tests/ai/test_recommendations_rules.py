import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from ai.common import CarouselStrategy
from ai.recommendations import rules, serving
from commerce.orders.models import Cart, CartLine, LineItem, Order
from tests.factories import ProductFactory, RecommendationRuleFactory

pytestmark = pytest.mark.django_db


def served(placement="home", **kwargs) -> list[int]:
    """The product ids a surface (or, for a carousel strategy, a carousel) serves an anonymous shopper."""
    serve = serving.carousel if placement in dict(CarouselStrategy.CHOICES) else serving.recommend
    return [r.product.pk for r in serve(placement, **kwargs)]


def products_by_pk(products: dict) -> dict:
    return {product.pk: product for product in products.values()}


@pytest.fixture
def saved(django_capture_on_commit_callbacks):
    """Create a rule as the admin does, committed: the cached rules retire on commit."""

    def save_rule(**fields):
        with django_capture_on_commit_callbacks(execute=True):
            return RecommendationRuleFactory(**fields)

    return save_rule


def test_hidden_products_and_categories_leave_the_row_and_over_fetching_keeps_it_full(shop, saved):
    # given a popular row led by coffee, and a rule hiding coffee and one garden product
    products, _ = shop
    before = served(limit=4)
    assert products["coffee0"].pk in before or products["coffee1"].pk in before
    saved(hidden_categories=[products["coffee0"].category], hidden_products=[products["garden0"]])

    # when
    after = served(limit=4)

    # then the row is still four long, all garden, without the hidden product
    garden = {products[f"garden{i}"].pk for i in range(1, 5)}
    assert len(after) == 4 and set(after) == garden


def test_a_pin_takes_its_position_whether_or_not_the_row_had_the_product(shop, saved):
    # given
    products, _ = shop
    row = served(limit=4)
    outsider = ProductFactory(title="Gift card")  # no engagement: never in a popular row
    saved(name="Gift card second", pin_product=outsider, pin_position=2)
    saved(name="Last first", pin_product_id=row[3], pin_position=1)

    # when
    pinned = serving.recommend("home", limit=4)

    # then
    assert [r.product.pk for r in pinned] == [row[3], outsider.pk, row[0], row[1]]
    assert (pinned[1].strategy, pinned[1].reason) == ("pinned", "Featured")
    assert pinned[0].reason == "Popular right now"  # moved, still served by popularity


def test_two_pins_on_one_position_keep_both_the_first_named_gets_it(shop, saved):
    products, _ = shop
    row = served(limit=4)
    saved(name="B pin", pin_product_id=row[2], pin_position=1)
    saved(name="A pin", pin_product_id=row[3], pin_position=1)

    assert served(limit=4)[:3] == [row[3], row[2], row[0]]


def test_a_sold_out_or_hidden_product_is_never_pinned(shop, saved):
    # given
    products, _ = shop
    saved(pin_product=products["sold_out"], pin_position=1)
    saved(pin_product=products["garden4"], pin_position=1)
    saved(hidden_products=[products["garden4"]])

    # when
    row = served(limit=4)

    # then the row is the one without rules, less the hidden product
    assert row == [pid for pid in served(limit=5, rules=[]) if pid != products["garden4"].pk][:4]
    assert products["sold_out"].pk not in row


def test_a_boost_moves_a_category_up_and_a_bury_moves_it_down(shop):
    # given the popular row, coffee first
    products, _ = shop
    base = serving.recommend("home", limit=10, rules=[])
    coffee = products["coffee0"].category_id
    boost = rules.Rule(pk=1, name="Garden week", placements=frozenset({"home"}),
                       boost_category_ids=frozenset({products["garden0"].category_id}), boost=10.0)
    bury = rules.Rule(pk=2, name="Less coffee", placements=frozenset({"home"}),
                      boost_category_ids=frozenset({coffee}), boost=-1.0)

    # when
    boosted = rules.rerank(base, [boost], 10)
    buried = rules.rerank(base, [bury], 10)

    # then garden leads, in its own order; buried coffee trails, in its own order
    garden_first = [r.product.pk for r in base if r.product.category_id != coffee]
    coffee_order = [r.product.pk for r in base if r.product.category_id == coffee]
    assert [r.product.pk for r in boosted.items][:len(garden_first)] == garden_first
    assert [r.product.pk for r in buried.items][-len(coffee_order):] == coffee_order
    assert boosted.reasons[garden_first[0]] == ["boosted +1000% (Garden week)"]
    assert buried.reasons[coffee_order[0]] == ["buried -100% (Less coffee)"]


def test_an_attribute_boost_matches_whatever_the_case(shop, saved):
    products, _ = shop
    row = served(limit=10)
    last = products_by_pk(products)[row[-1]]
    last.attributes = {"Colour": "Red"}
    last.save()
    saved(boost_attribute_name="colour", boost_attribute_value="RED", boost_percent=1000)

    assert served(limit=10)[0] == last.pk


def test_a_margin_boost_lifts_the_products_earning_at_least_the_margin(shop, saved):
    # given a row whose last two products earn 60 % and 30 % of their price, and the rest have no unit cost
    products, _ = shop
    row = served(limit=10)
    rich, thin = (products_by_pk(products)[pk] for pk in row[-2:])
    rich.unit_cost, thin.unit_cost = rich.price * Decimal("0.4"), thin.price * Decimal("0.7")
    rich.save()
    thin.save()

    # when a rule boosts a margin of at least 50 %
    saved(name="High margin", boost_min_margin_percent=50, boost_percent=1000)
    boosted = served(limit=10)

    # then only the product earning it moves up: the thin margin and the unknown costs keep their order
    assert boosted[0] == rich.pk
    assert boosted[1:] == [pk for pk in row if pk != rich.pk]
    assert rules.margin(products["garden0"]) == float("-inf")


def test_eligibility_leaves_out_free_products_the_cart_and_recent_orders(shop, saved):
    # given a customer with a product in their cart and two orders, one recent
    products, customers = shop
    customer = customers["garden1"]
    row = serving.recommend("home", customer_id=customer.pk, limit=10, rules=[])
    free, in_cart, recent, old = (r.product for r in row[:4])
    free.price = Decimal("0")
    free.save()
    CartLine.objects.create(cart=Cart.objects.create(customer=customer), product=in_cart, quantity=1,
                            seen_unit_price=in_cart.price)
    for product, days_ago in ((recent, 3), (old, 40)):
        order = Order.objects.create(customer=customer, email="a@example.com", full_name="A", line1="1 High St",
                                     city="Bath", postcode="BA1", currency="GBP", total=10)
        Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - dt.timedelta(days=days_ago))
        LineItem.objects.create(order=order, product=product, title=product.title, quantity=1, unit_price=5)
    saved(exclude_zero_price=True, exclude_in_cart=True, exclude_bought_within_days=30)

    # when
    mine = [r.product.pk for r in serving.recommend("home", customer_id=customer.pk, limit=10)]
    anonymous = served(limit=10)

    # then
    assert free.pk not in mine and in_cart.pk not in mine and recent.pk not in mine
    assert old.pk in mine
    assert in_cart.pk in anonymous and recent.pk in anonymous and free.pk not in anonymous


def test_rules_apply_only_to_their_placements_and_only_inside_their_window(shop, saved, monkeypatch):
    # given a rule for the trending carousel from tomorrow, and a disabled rule for home
    products, _ = shop
    home, trending = served(limit=4), served("trending", limit=4)
    tomorrow = timezone.now() + dt.timedelta(days=1)
    saved(placements=["trending"], hidden_products=[products_by_pk(products)[trending[0]]], starts_at=tomorrow,
          ends_at=tomorrow + dt.timedelta(days=1))
    saved(hidden_products=[products_by_pk(products)[home[0]]], enabled=False)

    # when today, then tomorrow, then after the window
    today = served("trending", limit=4), served(limit=4)
    monkeypatch.setattr(timezone, "now", lambda: tomorrow + dt.timedelta(hours=1))
    in_window = served("trending", limit=4), served(limit=4)
    monkeypatch.setattr(timezone, "now", lambda: tomorrow + dt.timedelta(days=2))
    after = served("trending", limit=4)

    # then
    assert today == (trending, home)
    assert trending[0] not in in_window[0] and len(in_window[0]) == 4 and in_window[1] == home
    assert after == trending


def test_the_version_changes_on_save_delete_and_when_a_window_opens(shop, saved, monkeypatch,
                                                                     django_capture_on_commit_callbacks):
    products, _ = shop
    empty = rules.version()
    tomorrow = timezone.now() + dt.timedelta(days=1)
    rule = saved(hidden_products=[products["garden0"]], starts_at=tomorrow)
    saved_version = rules.version()
    monkeypatch.setattr(timezone, "now", lambda: tomorrow + dt.timedelta(hours=1))
    opened = rules.version()
    with django_capture_on_commit_callbacks(execute=True):
        rule.delete()

    assert len({empty, saved_version, opened, rules.version()}) == 4


def test_a_rule_edit_applies_at_the_next_request(shop, saved, django_capture_on_commit_callbacks):
    products, _ = shop
    rule = saved(hidden_products=[products["coffee0"]])
    assert products["coffee0"].pk not in served(limit=10)

    with django_capture_on_commit_callbacks(execute=True):
        rule.enabled = False
        rule.save()

    assert products["coffee0"].pk in served(limit=10)


def test_without_live_rules_the_row_is_resolved_at_its_own_length():
    asked = []

    rows = rules.apply("home", lambda n: asked.append(n) or [], 5)

    assert rows == [] and asked == [5]


def test_a_pinned_product_from_further_down_the_row_keeps_how_it_was_served(shop, saved):
    row = served(limit=6, rules=[])
    saved(pin_product_id=row[4], pin_position=1)

    pinned = serving.recommend("home", limit=2)

    assert [r.product.pk for r in pinned] == [row[4], row[0]]
    assert (pinned[0].strategy, pinned[0].reason) == ("popular", "Popular right now")


def test_a_pin_never_puts_the_page_product_or_the_cart_in_its_own_row(shop, saved):
    # given rules pinning a product onto its own page's similar row and onto a cart that holds it
    products, _ = shop
    coffee = products["coffee0"]
    saved(name="Coffee first", placements=[CarouselStrategy.SIMILAR, "cart"], pin_product=coffee, pin_position=1)

    # when
    similar = served(CarouselStrategy.SIMILAR, product_id=coffee.pk, limit=4)
    cart = served("cart", cart_product_ids=[coffee.pk], limit=4)

    # then
    assert coffee.pk not in similar
    assert coffee.pk not in cart


def test_rules_hold_for_the_popular_products_that_fill_a_short_strategy_row(shop, saved):
    # given a similar row too short to fill a request, and a rule hiding the garden department there
    products, _ = shop
    saved(name="No garden", placements=[CarouselStrategy.SIMILAR], hidden_categories=[products["garden0"].category])

    # when the API asks the similar surface for more than the similar list holds
    row = serving.recommend(CarouselStrategy.SIMILAR, product_id=products["coffee0"].pk, limit=8)

    # then the popular products filling it are not garden ones either
    assert row and all(r.product.category_id != products["garden0"].category_id for r in row)


def test_a_rule_saved_in_another_process_is_applied_here_once_the_local_copy_expires(monkeypatch):
    # Given this process's copy of the rules, read at a fixed clock
    clock = [1000.0]
    monkeypatch.setattr(rules.time, "monotonic", lambda: clock[0])
    assert rules.table() == {}
    before = rules.version()

    # When another process saves a rule (the shared generation moves; this process's copy is not told)
    rule = RecommendationRuleFactory(placements=["home"])
    rules.counters.bump(rules.GENERATION_KEY)

    # Then this process serves its copy until it expires, then the saved rule
    assert rules.table() == {} and rules.version() == before
    clock[0] += rules.LOCAL_SECONDS
    assert [r.pk for r in rules.table()["home"]] == [rule.pk] and rules.version() != before


def test_a_rule_saved_in_this_process_is_applied_at_once(saved):
    # Given the rules read once
    assert rules.table() == {}

    # When a rule is saved here
    rule = saved(placements=["home"])

    # Then the next read has it
    assert [r.pk for r in rules.table()["home"]] == [rule.pk]
