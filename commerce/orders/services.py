"""Cart, checkout and returns. Stock and money only change here, under row locks."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum

from commerce.catalogue.models import Category, PriceList, Product, ProductVariant
from commerce.catalogue.services import available_stock, unit_price
from commerce.customers.experiments import price_list_for
from commerce.customers.models import Customer
from commerce.customers.services import customer_for, remember_address, visitor_id
from commerce.orders.models import Cart, CartLine, LineItem, Order, Return
from commerce.orders.signals import cart_changed, order_placed, return_requested

CART_COUNT_TTL = 24 * 3600


class CartError(ValueError):
    """A cart or checkout request that cannot be honoured; the message is safe to show the shopper."""


class OutOfStock(CartError):
    pass


class PriceChanged(CartError):
    """A price moved since the shopper last saw it: they review it in the cart before paying."""


@dataclass(frozen=True)
class Shopper:
    """Who owns a cart (a customer, else the anonymous visitor) and the price list they pay."""

    customer: Customer | None
    visitor_id: UUID
    price_list: str = PriceList.CURRENT

    @property
    def cache_key(self) -> str:
        owner = f"c{self.customer.pk}" if self.customer else f"v{self.visitor_id}"
        return f"orders:cart-count:{owner}"


@dataclass(frozen=True)
class PricedLine:
    line: CartLine
    unit_price: Decimal
    available: int

    @property
    def total(self) -> Decimal:
        return self.unit_price * self.line.quantity

    @property
    def price_changed(self) -> bool:
        return self.unit_price != self.line.seen_unit_price


@dataclass(frozen=True)
class CartContents:
    lines: list[PricedLine]
    currency: str

    @property
    def total(self) -> Decimal:
        return sum((line.total for line in self.lines), Decimal("0.00"))

    @property
    def item_count(self) -> int:
        return sum(line.line.quantity for line in self.lines)

    @property
    def changed_prices(self) -> list[PricedLine]:
        """Lines whose price moved since the shopper last saw it; checkout waits until they accept."""
        return [line for line in self.lines if line.price_changed]


def shopper_for(request, *, priced: bool = True) -> Shopper:
    """The request's shopper. ``priced``: they are about to see or pay prices, so their price list is
    looked up (recording their exposure to a running pricing experiment); the header's cart count and
    the cart lookups of APIs that show no price pass False."""
    return Shopper(customer_for(request.user), visitor_id(request),
                   price_list_for(request) if priced else PriceList.CURRENT)


# --- cart -----------------------------------------------------------------------------------------


def _owner(shopper: Shopper) -> dict:
    """The lookup of what belongs to the shopper (carts, orders): the customer's, else the visitor's."""
    return {"customer": shopper.customer} if shopper.customer else {"visitor_id": shopper.visitor_id}


def find_cart(shopper: Shopper) -> Cart | None:
    return Cart.objects.filter(**_owner(shopper)).first()


def _cart_for_update(shopper: Shopper) -> Cart:
    owner = _owner(shopper)
    try:
        cart, _ = Cart.objects.get_or_create(**owner)
    except IntegrityError:  # a concurrent request created it first
        cart = Cart.objects.get(**owner)
    return Cart.objects.select_for_update().get(pk=cart.pk)


def cart_item_count(shopper: Shopper) -> int:
    """Units in the shopper's cart, for the header on every page (Redis-cached, reset on every change)."""
    count = cache.get(shopper.cache_key)
    if count is None:
        count = CartLine.objects.filter(**_owner_lookup(shopper)).aggregate(n=Sum("quantity"))["n"] or 0
        cache.set(shopper.cache_key, count, CART_COUNT_TTL)
    return count


def _owner_lookup(shopper: Shopper) -> dict:
    return {"cart__customer": shopper.customer} if shopper.customer else {"cart__visitor_id": shopper.visitor_id}


def _resolve_variant(product: Product, variant: ProductVariant | None) -> ProductVariant | None:
    if variant is not None and variant.product_id != product.pk:
        raise CartError("That option does not belong to this product.")
    if variant is None and product.variants.exists():
        raise CartError(f"Choose an option of {product.title} first.")
    return variant


@transaction.atomic
def add_to_cart(shopper: Shopper, product: Product, variant: ProductVariant | None = None,
                quantity: int = 1) -> CartLine:
    if quantity < 1:
        raise CartError("Quantity must be at least 1.")
    if not product.active:
        raise CartError(f"{product.title} is no longer sold.")
    variant = _resolve_variant(product, variant)
    cart = _cart_for_update(shopper)
    line = CartLine.objects.filter(cart=cart, product=product, variant=variant).first()
    wanted = quantity + (line.quantity if line else 0)
    stock = available_stock(product, variant)
    if wanted > stock:
        raise OutOfStock(f"Only {stock} of {product.title} left." if stock else f"{product.title} is sold out.")
    # The product page the shopper added from showed today's price on their list: the price they saw.
    seen = unit_price(product, variant, shopper.price_list)
    if line is None:
        line = CartLine.objects.create(cart=cart, product=product, variant=variant, quantity=quantity,
                                       seen_unit_price=seen)
    else:
        line.quantity, line.seen_unit_price = wanted, seen
        line.save(update_fields=["quantity", "seen_unit_price"])
    _after_cart_change(shopper, cart, product, variant, quantity, seen)
    return line


@transaction.atomic
def set_line_quantity(shopper: Shopper, line_id: int, quantity: int) -> None:
    """Set a line's quantity; 0 removes it. Lines of other shoppers' carts are not found."""
    line = CartLine.objects.select_for_update(of=("self",)).select_related("product", "variant", "cart").get(
        pk=line_id, **_owner_lookup(shopper)
    )
    if quantity < 0:
        raise CartError("Quantity cannot be negative.")
    delta = quantity - line.quantity
    if quantity == 0:
        line.delete()
    else:
        stock = available_stock(line.product, line.variant)
        if quantity > stock:
            raise OutOfStock(f"Only {stock} of {line.product.title} left.")
        line.quantity = quantity
        line.save(update_fields=["quantity"])
    if delta:
        _after_cart_change(shopper, line.cart, line.product, line.variant, delta, line.seen_unit_price)


def _after_cart_change(shopper, cart, product, variant, delta, price) -> None:
    cache.delete(shopper.cache_key)
    transaction.on_commit(
        lambda: cart_changed.send_robust(
            sender=Cart, cart=cart, customer=shopper.customer, visitor_id=shopper.visitor_id,
            product=product, variant=variant, quantity=delta, price=price,
        )
    )


def cart_contents(shopper: Shopper) -> CartContents:
    """The shopper's cart priced on their price list, with what is left in stock."""
    cart = find_cart(shopper)
    if cart is None:
        return CartContents(lines=[], currency=settings.VITRINE_CURRENCY)
    lines = list(cart.lines.select_related("product__image", "variant"))
    priced = [PricedLine(line, unit_price(line.product, line.variant, shopper.price_list),
                         available_stock(line.product, line.variant))
              for line in lines]
    currency = lines[0].product.currency if lines else settings.VITRINE_CURRENCY
    return CartContents(lines=priced, currency=currency)


@transaction.atomic
def accept_current_prices(shopper: Shopper) -> int:
    """The shopper saw the changed prices in their cart and accepts them; returns the lines updated."""
    cart = find_cart(shopper)
    if cart is None:
        return 0
    lines = list(cart.lines.select_for_update(of=("self",)).select_related("product", "variant"))
    changed = []
    for line in lines:
        price = unit_price(line.product, line.variant, shopper.price_list)
        if price != line.seen_unit_price:
            line.seen_unit_price = price
            changed.append(line)
    CartLine.objects.bulk_update(changed, ["seen_unit_price"])
    return len(changed)


@transaction.atomic
def merge_visitor_cart(customer: Customer, visitor_id: UUID) -> None:
    """Move an anonymous visitor's cart lines into the customer's cart (quantities add, capped at stock)."""
    visitor_cart = Cart.objects.select_for_update().filter(visitor_id=visitor_id).first()
    if visitor_cart is None:
        return
    shopper = Shopper(customer, visitor_id)
    target = _cart_for_update(shopper)
    for line in visitor_cart.lines.select_related("product", "variant"):
        existing = CartLine.objects.filter(cart=target, product=line.product, variant=line.variant).first()
        quantity = min(line.quantity + (existing.quantity if existing else 0),
                       available_stock(line.product, line.variant))
        if existing:
            existing.quantity = max(quantity, 1)
            existing.save(update_fields=["quantity"])
        elif quantity >= 1:
            line.cart = target
            line.quantity = quantity
            line.save(update_fields=["cart", "quantity"])
    visitor_cart.delete()
    cache.delete(shopper.cache_key)
    cache.delete(Shopper(None, visitor_id).cache_key)


# --- checkout -------------------------------------------------------------------------------------


@transaction.atomic
def place_order(shopper: Shopper, *, email: str, address: dict, experiments: dict[str, str] | None = None,
                checkout_key: UUID | None = None) -> Order:
    """Turn the shopper's cart into an order at the prices they saw, taking the stock. ``experiments``
    ({experiment: variant} the shopper is counted in) tags the order and its purchase events.
    ``checkout_key`` (the checkout form's): a submission repeated with it returns the order it placed.
    A customer's ``address`` is saved to their account as their default (``remember_address``).

    The cart row is locked first and its lines read under the lock, so simultaneous checkouts of one
    cart place one order: the others find the cart gone (and, with the key, the order). Product and
    variant rows are locked next (in id order, so two checkouts never deadlock) before stock and prices
    are checked, so two buyers of the last unit get exactly one order and one OutOfStock, and a price that
    moved since the shopper last saw it raises PriceChanged instead of being charged.
    """
    cart = Cart.objects.select_for_update().filter(**_owner(shopper)).first()
    if checkout_key is not None:
        placed = Order.objects.filter(checkout_key=checkout_key, **_owner(shopper)).first()
        if placed is not None:
            return placed
    lines = list(cart.lines.all()) if cart else []
    if not lines:
        raise CartError("Your cart is empty.")
    products = {p.pk: p for p in Product.objects.select_for_update().filter(
        pk__in={line.product_id for line in lines}).order_by("pk")}
    variants = {v.pk: v for v in ProductVariant.objects.select_for_update().filter(
        pk__in={line.variant_id for line in lines if line.variant_id}).order_by("pk")}

    short = []
    for line in lines:
        product, variant = products[line.product_id], variants.get(line.variant_id)
        if not product.active or available_stock(product, variant) < line.quantity:
            short.append(product.title)
    if short:
        raise OutOfStock("Not enough stock left for: " + ", ".join(short) + ". Please update your cart.")
    moved = [products[line.product_id].title for line in lines
             if unit_price(products[line.product_id], variants.get(line.variant_id), shopper.price_list)
             != line.seen_unit_price]
    if moved:
        raise PriceChanged("The price of " + ", ".join(moved) + " changed. Please review your cart.")

    if shopper.customer is not None:
        remember_address(shopper.customer, address)  # under the cart's lock: one checkout per customer at a time
    order = Order.objects.create(
        customer=shopper.customer, visitor_id=shopper.visitor_id, email=email, experiments=experiments or {},
        price_list=shopper.price_list, checkout_key=checkout_key, currency=products[lines[0].product_id].currency,
        total=Decimal("0.00"), **address,
    )
    items = []
    for line in lines:
        product, variant = products[line.product_id], variants.get(line.variant_id)
        items.append(LineItem(
            order=order, product=product, variant=variant, quantity=line.quantity,
            title=str(variant) if variant else product.title, sku=variant.sku if variant else "",
            unit_price=line.seen_unit_price,  # equal to the current price, checked above under the lock
        ))
        stock_row = ProductVariant.objects.filter(pk=variant.pk) if variant else Product.objects.filter(pk=product.pk)
        stock_row.update(stock=F("stock") - line.quantity)
    LineItem.objects.bulk_create(items)
    order.total = sum((item.line_total for item in items), Decimal("0.00"))
    order.save(update_fields=["total"])
    cart.delete()
    cache.delete(shopper.cache_key)
    transaction.on_commit(lambda: order_placed.send_robust(sender=Order, order=order))
    return order


# --- returns --------------------------------------------------------------------------------------


@transaction.atomic
def request_return(line: LineItem, *, quantity: int, reason: str, note: str = "") -> Return:
    """Record a return of part or all of an order line (the line is locked so two requests can't over-return)."""
    line = LineItem.objects.select_for_update().get(pk=line.pk)
    if quantity < 1 or quantity > line.returnable_quantity():
        raise CartError(f"You can return between 1 and {line.returnable_quantity()} of {line.title}.")
    if reason not in Return.Reason.values:
        raise CartError("Choose a reason for the return.")
    return_ = Return.objects.create(line=line, quantity=quantity, reason=reason, note=note)
    transaction.on_commit(lambda: return_requested.send_robust(sender=Return, return_=return_))
    return return_


# --- co-purchases ---------------------------------------------------------------------------------


# Orders two products (or categories) must share before their association counts: one shared order is
# chance, and cosine rates a pair of one-off purchases as perfectly associated.
MIN_SHARED_ORDERS = 2


def _associations_query(item: str) -> str:
    """(item, other, strength) for every pair of distinct ``item`` values (an expression over the line
    ``l`` and its product ``p``) sharing orders. Parameters: since, until (when the orders were placed),
    the cancelled status (left out), the fewest shared orders. Strength is the cosine over orders,
    shared / sqrt(orders of one × orders of the other), so a best seller is not everyone's companion
    merely for being in many baskets."""
    return f"""WITH baskets AS (
                   SELECT DISTINCT l.order_id, {item} AS item
                   FROM {LineItem._meta.db_table} l JOIN {Order._meta.db_table} o ON o.id = l.order_id
                        JOIN {Product._meta.db_table} p ON p.id = l.product_id
                   WHERE o.created_at >= %s AND o.created_at < %s AND o.status <> %s),
               totals AS (SELECT item, count(*)::float AS orders FROM baskets GROUP BY item),
               pairs AS (SELECT a.item, b.item AS other, count(*) AS shared
                         FROM baskets a JOIN baskets b ON b.order_id = a.order_id AND b.item <> a.item
                         GROUP BY a.item, b.item HAVING count(*) >= %s)
               SELECT pairs.item, pairs.other, pairs.shared / sqrt(ta.orders * tb.orders) AS strength
               FROM pairs JOIN totals ta ON ta.item = pairs.item JOIN totals tb ON tb.item = pairs.other"""


def co_purchases(since: dt.datetime, until: dt.datetime, count: int, *, min_orders: int = MIN_SHARED_ORDERS
                 ) -> dict[int, tuple[list[int], list[float]]]:
    """Per product, up to ``count`` available products bought with it in at least ``min_orders`` orders
    placed in [since, until), with their association strength (cosine over orders, 0–1): strongest
    first, then by id."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT item, array_agg(other ORDER BY rank), array_agg(round(strength::numeric, 5)::float ORDER BY rank)
                FROM (SELECT a.item, a.other, a.strength,
                             row_number() OVER (PARTITION BY a.item ORDER BY a.strength DESC, a.other) AS rank
                      FROM ({_associations_query("l.product_id")}) a
                      JOIN {Product._meta.db_table} p ON p.id = a.other AND p.active AND p.stock > 0) ranked
                WHERE rank <= %s GROUP BY item""",
            [since, until, Order.Status.CANCELLED, min_orders, count],
        )
        return {pid: (list(others), list(strengths)) for pid, others, strengths in cursor.fetchall()}


def basket_lines(since: dt.datetime, until: dt.datetime) -> list[tuple[int, int, dt.datetime]]:
    """(order id, product id, placed at) of every product in the orders placed in [since, until), cancelled
    ones left out, as ``co_purchases`` counts them: the baskets its association strength is validated on."""
    return list(LineItem.objects.filter(order__created_at__gte=since, order__created_at__lt=until)
                .exclude(order__status=Order.Status.CANCELLED)
                .values_list("order_id", "product_id", "order__created_at").distinct()
                .iterator(chunk_size=20000))


def complementary_categories(since: dt.datetime, until: dt.datetime, *, min_orders: int = MIN_SHARED_ORDERS,
                             departments: bool = False) -> dict[int, list[tuple[int, float]]]:
    """Per category, the other categories whose products are bought in the same orders (placed in
    [since, until), at least ``min_orders`` shared), with the same association strength as
    ``co_purchases`` at the category level: strongest first, then by id. ``departments``: one level up
    instead (a product's category's parent, else the category itself), where baskets are less sparse."""
    item = (f"(SELECT coalesce(c.parent_id, c.id) FROM {Category._meta.db_table} c WHERE c.id = p.category_id)"
            if departments else "p.category_id")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM ({_associations_query(item)}) a ORDER BY item, strength DESC, other",
                       [since, until, Order.Status.CANCELLED, min_orders])
        found: dict[int, list[tuple[int, float]]] = {}
        for category_id, other, strength in cursor.fetchall():
            found.setdefault(category_id, []).append((other, round(strength, 5)))
        return found


# --- buying again ---------------------------------------------------------------------------------

# Due a little before the usual interval: a reminder should come before the shopper runs out.
DUE_SHARE_OF_INTERVAL = 0.9


def due_repurchases(*, customer_id: int | None = None, visitor_id=None, now: dt.datetime, limit: int = 12
                    ) -> list[tuple[int, float]]:
    """Products the customer (else the anonymous visitor) bought on at least two different days whose
    usual repeat interval, the median of the intervals between those days, has (nearly) passed since
    they last bought it: (product id, that interval in days), those bought most often first, then the
    least overdue. Cancelled orders are left out."""
    who, whom = ("customer_id", customer_id) if customer_id else ("visitor_id", visitor_id)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH bought AS (
                    SELECT DISTINCT l.product_id, date_trunc('day', o.created_at) AS day
                    FROM {LineItem._meta.db_table} l JOIN {Order._meta.db_table} o ON o.id = l.order_id
                    WHERE o.{who} = %s AND o.status <> %s AND o.created_at < %s AND l.product_id IS NOT NULL),
                intervals AS (
                    SELECT product_id, day, extract(epoch FROM day - lag(day) OVER (PARTITION BY product_id
                                                                                    ORDER BY day)) AS gap
                    FROM bought),
                cadence AS (
                    SELECT product_id, count(*) AS purchases, max(day) AS last_day,
                           percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) AS median_gap
                    FROM intervals GROUP BY product_id HAVING count(gap) >= 1)
                SELECT product_id, median_gap / 86400 FROM cadence
                WHERE median_gap > 0 AND extract(epoch FROM %s - last_day) >= %s * median_gap
                ORDER BY purchases DESC, extract(epoch FROM %s - last_day) / median_gap, product_id LIMIT %s""",
            [whom, Order.Status.CANCELLED, now, now, DUE_SHARE_OF_INTERVAL, now, limit],
        )
        return [(pid, float(days)) for pid, days in cursor.fetchall()]


# --- experiment outcomes --------------------------------------------------------------------------


def orders_after_exposure_query(*, exposed: str, visitor_links: str, as_of: dt.datetime) -> tuple[str, list]:
    """The outcomes of an experiment: each exposed shopper's orders placed after their exposure and
    before ``as_of``, cancelled ones left out. ``exposed`` names a relation (a CTE) of one row a shopper,
    (unit, customer_id, anonymous_id, variant, exposed_at) (``commerce.events.queries.first_exposures_query``);
    ``visitor_links`` one of (customer_id, visitor_id) (``commerce.events.queries.visitor_links_query``).

    A customer's orders are their own and the guest orders of every visitor id linked to them at login;
    an anonymous visitor's are the orders of its visitor id. UNION (with the order id) counts an order
    found twice once. Columns: unit, variant, exposed_at, id, ordered_at, total.
    """
    return _exposed_units_orders(exposed, visitor_links, "o.created_at >= x.exposed_at AND o.created_at < %s",
                                 [as_of])


def orders_before_exposure_query(*, exposed: str, visitor_links: str, days: int) -> tuple[str, list]:
    """Each exposed shopper's orders in the ``days`` before their exposure (the pre-experiment behaviour
    CUPED adjusts for), found as in ``orders_after_exposure_query`` and with its columns."""
    return _exposed_units_orders(
        exposed, visitor_links,
        "o.created_at >= x.exposed_at - make_interval(days => %s) AND o.created_at < x.exposed_at", [days])


def _exposed_units_orders(exposed: str, visitor_links: str, when: str, when_params: list) -> tuple[str, list]:
    orders = Order._meta.db_table
    placed = f"{when} AND o.status <> %s"
    return (
        f"""SELECT x.unit, x.variant, x.exposed_at, o.id, o.created_at AS ordered_at, o.total
            FROM {exposed} x JOIN {orders} o ON o.customer_id = x.customer_id
            WHERE x.customer_id IS NOT NULL AND {placed}
            UNION
            SELECT x.unit, x.variant, x.exposed_at, o.id, o.created_at, o.total
            FROM {exposed} x JOIN {visitor_links} l ON l.customer_id = x.customer_id
                 JOIN {orders} o ON o.visitor_id = l.visitor_id AND o.customer_id IS NULL
            WHERE x.customer_id IS NOT NULL AND {placed}
            UNION
            SELECT x.unit, x.variant, x.exposed_at, o.id, o.created_at, o.total
            FROM {exposed} x JOIN {orders} o ON o.visitor_id = x.anonymous_id
            WHERE x.customer_id IS NULL AND {placed}""",
        [*when_params, Order.Status.CANCELLED] * 3,
    )


def first_returns_query(*, orders: str) -> tuple[str, list]:
    """When a return was first requested of each order in ``orders`` (a relation with an ``id`` column, such
    as ``orders_after_exposure_query``'s) that has one; rejected returns are left out. Columns: id,
    returned_at."""
    return (
        f"""SELECT o.id, min(r.created_at) AS returned_at
            FROM {orders} o JOIN {LineItem._meta.db_table} l ON l.order_id = o.id
                 JOIN {Return._meta.db_table} r ON r.line_id = l.id
            WHERE r.status <> %s
            GROUP BY o.id""",
        [Return.Status.REJECTED],
    )
