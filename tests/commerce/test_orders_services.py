import datetime as dt
import threading
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from commerce.catalogue.models import PriceList, Product
from commerce.customers.models import Address
from commerce.events.queries import first_exposures_query, visitor_links_query
from commerce.events.services import link_visitor, store_events
from commerce.orders.models import Cart, CartLine, LineItem, Order, Return
from commerce.orders.services import (
    CartError,
    OutOfStock,
    PriceChanged,
    Shopper,
    accept_current_prices,
    add_to_cart,
    cart_contents,
    cart_item_count,
    co_purchases,
    complementary_categories,
    due_repurchases,
    find_cart,
    first_returns_query,
    merge_visitor_cart,
    orders_after_exposure_query,
    orders_before_exposure_query,
    place_order,
    request_return,
    set_line_quantity,
)
from commerce.orders.signals import cart_changed, order_placed
from tests.factories import CategoryFactory, CustomerFactory, ProductFactory, VariantFactory, placed_order

pytestmark = pytest.mark.django_db

ADDRESS = {"full_name": "Sam Shopper", "line1": "1 High St", "line2": "", "city": "Bristol",
           "postcode": "BS1 1AA", "country": "GB"}


def anonymous() -> Shopper:
    return Shopper(None, uuid.uuid4())


def test_adding_twice_adds_to_the_same_line():
    shopper, product = anonymous(), ProductFactory(stock=5)

    add_to_cart(shopper, product, quantity=2)
    add_to_cart(shopper, product, quantity=1)

    assert CartLine.objects.get().quantity == 3
    assert cart_item_count(shopper) == 3


def test_cannot_add_more_than_stock_or_inactive_products():
    shopper = anonymous()
    with pytest.raises(OutOfStock, match="Only 2"):
        add_to_cart(shopper, ProductFactory(stock=2), quantity=3)
    with pytest.raises(CartError, match="no longer sold"):
        add_to_cart(shopper, ProductFactory(active=False))
    assert not CartLine.objects.exists()


def test_product_with_variants_needs_one_of_its_own_variants():
    variant = VariantFactory(stock=3, price=Decimal("20.00"))
    other = VariantFactory()
    shopper = anonymous()

    with pytest.raises(CartError, match="Choose an option"):
        add_to_cart(shopper, variant.product)
    with pytest.raises(CartError, match="does not belong"):
        add_to_cart(shopper, variant.product, other)
    add_to_cart(shopper, variant.product, variant, quantity=2)

    contents = cart_contents(shopper)
    assert contents.total == Decimal("40.00")


def test_cart_count_cache_is_reset_on_change():
    shopper, product = anonymous(), ProductFactory(stock=5)
    assert cart_item_count(shopper) == 0  # cached as 0

    line = add_to_cart(shopper, product, quantity=1)
    assert cart_item_count(shopper) == 1
    set_line_quantity(shopper, line.pk, 4)
    assert cart_item_count(shopper) == 4
    set_line_quantity(shopper, line.pk, 0)
    assert cart_item_count(shopper) == 0


def test_shopper_cannot_touch_another_shoppers_line():
    owner, intruder = anonymous(), anonymous()
    line = add_to_cart(owner, ProductFactory())
    with pytest.raises(CartLine.DoesNotExist):
        set_line_quantity(intruder, line.pk, 0)


def test_cart_changed_is_sent_after_commit_with_the_delta(django_capture_on_commit_callbacks):
    received = []
    cart_changed.connect(lambda **kw: received.append(kw["quantity"]), weak=False, dispatch_uid="t")
    try:
        shopper, product = anonymous(), ProductFactory()
        with django_capture_on_commit_callbacks(execute=True):
            line = add_to_cart(shopper, product, quantity=2)
        with django_capture_on_commit_callbacks(execute=True):
            set_line_quantity(shopper, line.pk, 0)
    finally:
        cart_changed.disconnect(dispatch_uid="t")
    assert received == [2, -2]


def test_a_receiver_failing_after_commit_is_logged_and_fails_neither_cart_nor_checkout(
        django_capture_on_commit_callbacks, caplog):
    def broken(**kwargs):
        raise RuntimeError("receiver bug")

    cart_changed.connect(broken, weak=False, dispatch_uid="t")
    order_placed.connect(broken, weak=False, dispatch_uid="t")
    try:
        shopper, product = anonymous(), ProductFactory(stock=5)
        with django_capture_on_commit_callbacks(execute=True):
            add_to_cart(shopper, product)
        with django_capture_on_commit_callbacks(execute=True):
            order = place_order(shopper, email="a@example.com", address=ADDRESS)
    finally:
        cart_changed.disconnect(dispatch_uid="t")
        order_placed.disconnect(dispatch_uid="t")

    assert order.lines.get().quantity == 1
    assert sum("receiver bug" in record.getMessage() for record in caplog.records if record.levelname == "ERROR") == 2


def test_place_order_charges_the_prices_the_shopper_saw_and_takes_stock(django_capture_on_commit_callbacks):
    shopper = Shopper(CustomerFactory(), uuid.uuid4())
    mug = ProductFactory(base_price=Decimal("10.00"), stock=5)
    variant = VariantFactory(price=Decimal("7.50"), stock=4)
    add_to_cart(shopper, mug, quantity=2)
    add_to_cart(shopper, variant.product, variant, quantity=3)

    placed = []
    order_placed.connect(lambda **kw: placed.append(kw["order"]), weak=False, dispatch_uid="t")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            order = place_order(shopper, email="sam@example.com", address=ADDRESS)
    finally:
        order_placed.disconnect(dispatch_uid="t")

    assert order.total == Decimal("42.50")  # 2 × 10.00 + 3 × 7.50
    assert sorted(line.unit_price for line in order.lines.all()) == [Decimal("7.50"), Decimal("10.00")]
    mug.refresh_from_db()
    variant.refresh_from_db()
    assert (mug.stock, variant.stock) == (3, 1)
    assert find_cart(shopper) is None
    assert placed == [order]


def test_a_price_that_moved_after_adding_is_shown_and_must_be_accepted_before_checkout():
    shopper, mug = anonymous(), ProductFactory(base_price=Decimal("10.00"), stock=5)
    add_to_cart(shopper, mug, quantity=2)
    Product.objects.filter(pk=mug.pk).update(price=Decimal("11.00"))  # dynamic pricing moved it

    contents = cart_contents(shopper)
    assert [(p.line.seen_unit_price, p.unit_price) for p in contents.changed_prices] == [
        (Decimal("10.00"), Decimal("11.00"))]
    with pytest.raises(PriceChanged, match="price of .* changed"):
        place_order(shopper, email="a@example.com", address=ADDRESS)
    assert not Order.objects.exists() and Product.objects.get(pk=mug.pk).stock == 5

    assert accept_current_prices(shopper) == 1
    assert not cart_contents(shopper).changed_prices
    order = place_order(shopper, email="a@example.com", address=ADDRESS)
    assert order.total == Decimal("22.00")


def test_adding_again_from_the_product_page_shows_the_current_price():
    shopper, mug = anonymous(), ProductFactory(base_price=Decimal("10.00"), stock=5)
    add_to_cart(shopper, mug)
    Product.objects.filter(pk=mug.pk).update(price=Decimal("9.00"))

    add_to_cart(shopper, Product.objects.get(pk=mug.pk))

    assert CartLine.objects.get().seen_unit_price == Decimal("9.00")
    assert not cart_contents(shopper).changed_prices


def test_an_order_records_the_price_list_the_shopper_was_charged_from():
    mug = ProductFactory(base_price=Decimal("10.00"), price=Decimal("12.00"), stock=5)
    base, current = Shopper(None, uuid.uuid4(), PriceList.BASE), anonymous()
    for shopper in (base, current):
        add_to_cart(shopper, mug)

    personalised = place_order(base, email="a@example.com", address=ADDRESS)
    everyones = place_order(current, email="a@example.com", address=ADDRESS)

    assert (personalised.price_list, personalised.total) == (PriceList.BASE, Decimal("10.00"))
    assert (everyones.price_list, everyones.total) == (PriceList.CURRENT, Decimal("12.00"))


def test_place_order_refuses_when_stock_ran_out_and_changes_nothing():
    shopper, product = anonymous(), ProductFactory(stock=2)
    add_to_cart(shopper, product, quantity=2)
    Product.objects.filter(pk=product.pk).update(stock=1)

    with pytest.raises(OutOfStock):
        place_order(shopper, email="a@example.com", address=ADDRESS)

    assert not Order.objects.exists()
    assert Product.objects.get(pk=product.pk).stock == 1
    assert find_cart(shopper).lines.count() == 1


def test_empty_cart_cannot_be_checked_out():
    with pytest.raises(CartError, match="empty"):
        place_order(anonymous(), email="a@example.com", address=ADDRESS)


def test_place_order_saves_a_customers_address_and_not_a_guests():
    customer, guest = Shopper(CustomerFactory(), uuid.uuid4()), anonymous()
    for shopper in (customer, guest):
        add_to_cart(shopper, ProductFactory(), quantity=1)
        place_order(shopper, email="a@example.com", address=ADDRESS)

    assert list(Address.objects.values_list("customer", "line1", "is_default")) == [
        (customer.customer.pk, "1 High St", True)]


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_buyers_of_the_last_unit_get_exactly_one_order():
    product = ProductFactory(stock=1)
    buyers = [anonymous(), anonymous()]
    for buyer in buyers:
        add_to_cart(buyer, product, quantity=1)
    barrier = threading.Barrier(2)
    outcomes = []

    def checkout(buyer):
        try:
            barrier.wait()
            place_order(buyer, email="x@example.com", address=ADDRESS)
            outcomes.append("order")
        except OutOfStock:
            outcomes.append("out of stock")
        finally:
            connection.close()

    threads = [threading.Thread(target=checkout, args=(b,)) for b in buyers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert sorted(outcomes) == ["order", "out of stock"]
    assert Order.objects.count() == 1
    assert Product.objects.get(pk=product.pk).stock == 0


def simultaneous_checkouts(shopper, count: int, checkout_key=None) -> list:
    """``count`` threads submit the shopper's checkout at the same moment; each outcome is the order
    number placed or returned, or the CartError's message."""
    barrier = threading.Barrier(count)
    outcomes = []

    def checkout():
        try:
            barrier.wait()
            outcomes.append(place_order(shopper, email="x@example.com", address=ADDRESS,
                                        checkout_key=checkout_key).number)
        except CartError as error:
            outcomes.append(str(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=checkout) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_simultaneous_submissions_of_one_cart_with_its_checkout_key_place_one_order():
    shopper, product = anonymous(), ProductFactory(stock=5)
    add_to_cart(shopper, product, quantity=1)

    outcomes = simultaneous_checkouts(shopper, 5, checkout_key=uuid.uuid4())

    order = Order.objects.get()
    assert outcomes == [order.number] * 5  # every submission lands on the one order
    assert order.lines.get().quantity == 1
    assert Product.objects.get(pk=product.pk).stock == 4


@pytest.mark.django_db(transaction=True)
def test_simultaneous_submissions_of_one_cart_without_a_key_place_one_order_and_find_the_cart_empty():
    shopper, product = anonymous(), ProductFactory(stock=5)
    add_to_cart(shopper, product, quantity=1)

    outcomes = simultaneous_checkouts(shopper, 2)

    order = Order.objects.get()
    assert sorted(outcomes) == sorted([order.number, "Your cart is empty."])
    assert Product.objects.get(pk=product.pk).stock == 4


def test_a_checkout_key_returns_only_its_own_shoppers_order():
    owner, other, product = anonymous(), anonymous(), ProductFactory(stock=5)
    key = uuid.uuid4()
    add_to_cart(owner, product)
    placed = place_order(owner, email="a@example.com", address=ADDRESS, checkout_key=key)

    assert place_order(owner, email="a@example.com", address=ADDRESS, checkout_key=key) == placed
    with pytest.raises(CartError, match="empty"):  # another shopper replaying the key gets nothing of it
        place_order(other, email="b@example.com", address=ADDRESS, checkout_key=key)
    assert Order.objects.count() == 1 and Product.objects.get(pk=product.pk).stock == 4


def test_visitor_cart_merges_into_customer_cart_capped_at_stock():
    customer = CustomerFactory()
    visitor = uuid.uuid4()
    both, only_visitor = ProductFactory(stock=3), ProductFactory(stock=9)
    add_to_cart(Shopper(customer, uuid.uuid4()), both, quantity=2)
    add_to_cart(Shopper(None, visitor), both, quantity=2)
    add_to_cart(Shopper(None, visitor), only_visitor, quantity=4)

    merge_visitor_cart(customer, visitor)

    quantities = dict(customer.cart.lines.values_list("product_id", "quantity"))
    assert quantities == {both.pk: 3, only_visitor.pk: 4}
    assert not Cart.objects.filter(visitor_id=visitor).exists()


def test_returns_cannot_exceed_what_was_bought():
    shopper, product = anonymous(), ProductFactory(stock=5)
    add_to_cart(shopper, product, quantity=3)
    line = place_order(shopper, email="a@example.com", address=ADDRESS).lines.get()

    request_return(line, quantity=2, reason=Return.Reason.DAMAGED)
    with pytest.raises(CartError, match="between 1 and 1"):
        request_return(line, quantity=2, reason=Return.Reason.DAMAGED)
    Return.objects.update(status=Return.Status.REJECTED)  # a rejected return frees the quantity again
    assert request_return(line, quantity=3, reason=Return.Reason.CHANGED_MIND).refund_amount == Decimal("37.50")


def test_co_purchases_rank_by_association_strength_not_by_raw_counts():
    # given: the best seller shares more of the mug's orders than the lamp does, but is in every basket
    mug, lamp, best_seller, teapot, vase, cup = (ProductFactory() for _ in range(6))
    sold_out, retired = ProductFactory(stock=0), ProductFactory(active=False)
    for _ in range(2):
        placed_order(mug, lamp, sold_out, retired)
        placed_order(mug, vase, days_ago=10)  # before the window
        placed_order(mug, cup, status=Order.Status.CANCELLED)
    for _ in range(3):
        placed_order(mug, best_seller)
    for _ in range(10):
        placed_order(best_seller)
    placed_order(mug, teapot)  # one shared order is chance
    now = timezone.now()

    # when
    found = co_purchases(now - dt.timedelta(days=1), now + dt.timedelta(minutes=1), 12)
    top_one = co_purchases(now - dt.timedelta(days=1), now + dt.timedelta(minutes=1), 1)

    # then
    ids, strengths = found[mug.pk]
    assert ids == [lamp.pk, best_seller.pk]
    assert 1 >= strengths[0] > strengths[1] > 0
    assert top_one[mug.pk][0] == [lamp.pk]
    assert found[lamp.pk][0] == [mug.pk]
    assert teapot.pk not in found and vase.pk not in found and cup.pk not in found


def test_complementary_categories_are_those_bought_in_the_same_orders():
    # given
    coffee, mugs, garden, books = (CategoryFactory(name=name) for name in ("Coffee", "Mugs", "Garden", "Books"))
    beans, mug, spade, novel = (ProductFactory(category=category) for category in (coffee, mugs, garden, books))
    for _ in range(3):
        placed_order(beans, mug)
    for _ in range(2):
        placed_order(beans, spade)
        placed_order(spade)
    placed_order(beans, novel)  # one shared order is chance
    now = timezone.now()

    # when
    found = complementary_categories(now - dt.timedelta(days=1), now + dt.timedelta(minutes=1))

    # then
    assert [other for other, _ in found[coffee.pk]] == [mugs.pk, garden.pk]
    assert [other for other, _ in found[mugs.pk]] == [coffee.pk]
    assert books.pk not in found


def test_complementary_departments_pool_their_categories_baskets():
    # given: no two categories share two orders, but their departments do
    kitchen, outdoors = CategoryFactory(name="Kitchen"), CategoryFactory(name="Outdoors")
    coffee, tea = CategoryFactory(name="Coffee", parent=kitchen), CategoryFactory(name="Tea", parent=kitchen)
    garden = CategoryFactory(name="Garden", parent=outdoors)
    beans, leaves, spade = (ProductFactory(category=category) for category in (coffee, tea, garden))
    placed_order(beans, spade)
    placed_order(leaves, spade)
    now = timezone.now()
    since, until = now - dt.timedelta(days=1), now + dt.timedelta(minutes=1)

    # when
    found = complementary_categories(since, until, departments=True)

    # then
    assert complementary_categories(since, until) == {}
    assert [other for other, _ in found[kitchen.pk]] == [outdoors.pk]


def test_buy_again_finds_repeat_purchases_due_by_their_own_interval():
    # given: beans every 10 days (last 10 days ago), tea every 3 days (last 14 days ago), milk every
    # 19 days but bought 2 days ago, a vase bought once
    customer = CustomerFactory()
    beans, tea, milk, vase = (ProductFactory() for _ in range(4))
    for days_ago in (40, 30, 20, 10):
        placed_order(beans, days_ago=days_ago, customer=customer)
    for days_ago in (20, 17, 14):
        placed_order(tea, days_ago=days_ago, customer=customer)
    for days_ago in (40, 20, 2):
        placed_order(milk, days_ago=days_ago, customer=customer)
    placed_order(vase, days_ago=30, customer=customer)
    placed_order(milk, days_ago=25, customer=customer, status=Order.Status.CANCELLED)
    placed_order(vase, days_ago=60)  # someone else's

    # when
    due = due_repurchases(customer_id=customer.pk, now=timezone.now())

    # then: bought most often first
    assert [pid for pid, _ in due] == [beans.pk, tea.pk]
    assert [round(days) for _, days in due] == [10, 3]
    assert due_repurchases(customer_id=customer.pk, now=timezone.now(), limit=1) == due[:1]
    assert due_repurchases(customer_id=CustomerFactory().pk, now=timezone.now()) == []


def exposed_at(when: dt.datetime, variant: str, *, customer=None, visitor=None) -> None:
    store_events([{"id": str(uuid.uuid4()), "created_at": when.isoformat(), "event_type": "experiment_exposure",
                   "customer_id": customer.pk if customer else None, "anonymous_id": str(visitor) if visitor else None,
                   "experiments": {"home": variant}}])


def placed_at(when: dt.datetime, total: str, *, customer=None, visitor=None, status=Order.Status.PLACED) -> Order:
    order = Order.objects.create(customer=customer, visitor_id=visitor, email="a@example.com", full_name="A",
                                 line1="1 High St", city="Bath", postcode="BA1", currency="GBP", total=Decimal(total),
                                 status=status)
    Order.objects.filter(pk=order.pk).update(created_at=when)
    return order


def orders_after_exposure(since: dt.datetime, as_of: dt.datetime) -> set[tuple]:
    """(unit, variant, order id, total) of the "home" experiment's outcomes, joined as its metrics join them."""
    exposed, exposed_params = first_exposures_query("home", since, as_of)
    links, links_params = visitor_links_query()
    outcomes, outcome_params = orders_after_exposure_query(exposed="exposed", visitor_links="links", as_of=as_of)
    with connection.cursor() as cursor:
        cursor.execute(f"WITH exposed AS ({exposed}), links AS ({links}) SELECT unit, variant, id, total "
                       f"FROM ({outcomes}) AS outcomes", [*exposed_params, *links_params, *outcome_params])
        return set(cursor.fetchall())


def test_the_orders_after_exposure_are_a_customers_own_and_linked_guest_orders_and_a_visitors_own():
    now = timezone.now()
    exposure, as_of = now - dt.timedelta(days=5), now - dt.timedelta(hours=1)
    customer, browser, visitor = CustomerFactory(), uuid.uuid4(), uuid.uuid4()
    exposed_at(exposure, "b", customer=customer)
    exposed_at(exposure, "a", visitor=visitor)
    own = placed_at(exposure + dt.timedelta(days=1), "20.00", customer=customer)
    guest = placed_at(exposure + dt.timedelta(days=2), "30.00", visitor=browser)  # before logging in on that browser
    link_visitor(customer.pk, browser)
    visitors = placed_at(exposure + dt.timedelta(hours=1), "15.00", visitor=visitor)
    placed_at(exposure - dt.timedelta(hours=1), "99.00", customer=customer)  # before the exposure
    placed_at(exposure + dt.timedelta(days=1), "99.00", customer=customer, status=Order.Status.CANCELLED)
    placed_at(now - dt.timedelta(minutes=5), "99.00", visitor=visitor)  # after ``as_of``
    placed_at(exposure + dt.timedelta(days=1), "99.00", visitor=uuid.uuid4())  # never exposed

    outcomes = orders_after_exposure(now - dt.timedelta(days=10), as_of)

    assert outcomes == {(f"c{customer.pk}", "b", own.pk, Decimal("20.00")),
                        (f"c{customer.pk}", "b", guest.pk, Decimal("30.00")),
                        (f"v{visitor}", "a", visitors.pk, Decimal("15.00"))}



def test_the_orders_before_exposure_are_the_shoppers_orders_in_the_days_before_it():
    now = timezone.now()
    exposure = now - dt.timedelta(days=5)
    customer, browser, visitor = CustomerFactory(), uuid.uuid4(), uuid.uuid4()
    exposed_at(exposure, "b", customer=customer)
    exposed_at(exposure, "a", visitor=visitor)
    own = placed_at(exposure - dt.timedelta(days=29), "20.00", customer=customer)
    guest = placed_at(exposure - dt.timedelta(days=2), "30.00", visitor=browser)
    link_visitor(customer.pk, browser)
    visitors = placed_at(exposure - dt.timedelta(hours=1), "15.00", visitor=visitor)
    placed_at(exposure - dt.timedelta(days=31), "99.00", customer=customer)  # before the 30 days
    placed_at(exposure - dt.timedelta(days=1), "99.00", customer=customer, status=Order.Status.CANCELLED)
    placed_at(exposure + dt.timedelta(hours=1), "99.00", visitor=visitor)  # after the exposure: an outcome

    exposed, exposed_params = first_exposures_query("home", now - dt.timedelta(days=10), now)
    links, links_params = visitor_links_query()
    history, history_params = orders_before_exposure_query(exposed="exposed", visitor_links="links", days=30)
    with connection.cursor() as cursor:
        cursor.execute(f"WITH exposed AS ({exposed}), links AS ({links}) SELECT unit, id, total FROM ({history}) h",
                       [*exposed_params, *links_params, *history_params])
        found = set(cursor.fetchall())

    assert found == {(f"c{customer.pk}", own.pk, Decimal("20.00")), (f"c{customer.pk}", guest.pk, Decimal("30.00")),
                     (f"v{visitor}", visitors.pk, Decimal("15.00"))}


def test_the_first_return_of_each_order_is_the_earliest_not_rejected_one():
    now = timezone.now()
    kept, returned, refused, elsewhere = (placed_at(now - dt.timedelta(days=8), "10.00", visitor=uuid.uuid4())
                                          for _ in range(4))
    lines = LineItem.objects.bulk_create([LineItem(order=order, title="Mug", unit_price=5, quantity=2)
                                          for order in (returned, returned, refused, elsewhere)])
    requests = [(lines[0], 4, Return.Status.RECEIVED), (lines[1], 2, Return.Status.REQUESTED),
                (lines[2], 3, Return.Status.REJECTED), (lines[3], 1, Return.Status.REQUESTED)]
    for line, days_ago, status in requests:
        return_ = Return.objects.create(line=line, quantity=1, reason=Return.Reason.DAMAGED, status=status)
        Return.objects.filter(pk=return_.pk).update(created_at=now - dt.timedelta(days=days_ago))

    returns, params = first_returns_query(orders="chosen")
    with connection.cursor() as cursor:
        cursor.execute(f"WITH chosen AS (SELECT id FROM orders_order WHERE id = ANY(%s)) {returns}",
                       [[kept.pk, returned.pk, refused.pk], *params])
        found = dict(cursor.fetchall())

    # only the chosen orders; of those, one with a return that was not rejected, at its earliest request
    assert found == {returned.pk: now - dt.timedelta(days=4)}
