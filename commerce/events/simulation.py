"""Simulated shopper behaviour: customers with consistent tastes browsing, buying and returning.

The recommendation, search-boost and demand features learn from ``CustomerEvent`` rows; a fresh shop
has none. ``simulate`` (behind ``manage.py simulate_shoppers``) writes a history that carries signal:

- every simulated customer has latent tastes: 1–3 favourite categories with Dirichlet(1) weights, an
  exploration rate (5–25 % of views wander into any category), a price sensitivity (log-price
  preference within a category) and an activity rate (sessions/day, gamma-distributed around
  ``sessions_per_day``); product popularity within each category is Zipf-like (s = 1.1), so a few
  products are bestsellers;
- sessions (a Poisson number over the window, daytime-heavy, UTC ≈ UK time) view 2–12 products a
  minute or so apart; ~10 % of views add to cart, ~12 % of cart lines are removed again, ~35 % of
  sessions with a cart check out (an ``Order`` with ``LineItem`` rows at ``product.price``), and ~5 %
  of purchased lines come back 2–14 days later (a ``Return`` row and a return event);
- ``anonymous_share`` of sessions start anonymous (events carry only the visitor id) and log in part
  way, always before checkout; the visitor is linked to the customer with a ``VisitorLink`` written
  *before* the events are stored, so ``services.store_events`` gives the pre-login events the customer
  exactly as it does for a real login while events are still queued (the end state is the one
  ``services.link_visitor`` produces; calling it per visitor costs three queries each, minutes at
  100k customers). ``anonymous_share × customers`` further visitors never log in (they browse and
  fill carts but do not buy);
- events are built with the keys ``services.record`` builds and inserted through the bulk path
  (``services.store_events``), after ``partitions.ensure_partitions`` has created the months of the
  window, so old events land in their own partitions rather than the default one.

Stock is never decremented: this is simulated *history*, the shop's stock today is whatever it is.

Determinism: everything a shopper does comes from a ``random.Random`` seeded with (seed, shopper
index) and from the catalogue in id order, and every time is an offset from ``now`` chosen without
looking at the clock, so the same seed on the same catalogue gives the same shoppers, sessions, event
ids, event counts, orders and totals; only the absolute times move with ``now``.

Reruns: customers are users ``simulated-<seed>-<i>@example.com``; a rerun with the same seed reuses
them (and creates only the missing ones). Shoppers that already have events are left alone, so a
rerun adds nothing twice and never trips over an order number; ``replace=True`` first deletes the
seed's simulated history (events, orders with their lines and returns, visitor links) and generates it
again ending now. Each chunk of shoppers is written in one transaction, so an interrupted run leaves
whole shoppers behind and a rerun completes it.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import accumulate

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from commerce.catalogue.models import Product
from commerce.customers.models import Address, Customer
from commerce.events import partitions, services
from commerce.events.models import EventType, VisitorLink
from commerce.orders.models import LineItem, Order, Return

# Measured (10k customers, 2 cores): a store_events call of 20,000 simulated events takes ≈ 0.9 s
# (COPY ≈ 0.25 s, INSERT … ON CONFLICT into the partitions with their five indexes ≈ 0.65 s); larger
# batches gain nothing measurable and hold more memory and a longer transaction.
EVENT_BATCH_SIZE = 20_000
CHUNK_SIZE = 1000  # shoppers simulated and written per transaction

ZIPF_EXPONENT = 1.1
ADD_TO_CART_FAVOURITE, ADD_TO_CART_EXPLORING = 0.11, 0.06
REMOVE_FROM_CART = 0.12
RETURN_RATE = 0.05
# Sessions started per hour of the day (UTC, a UK audience): quiet nights, a lunch bump, evening peak.
HOURLY_WEIGHTS = [1.0, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 2.5, 3.0, 3.2, 3.4,
                  4.0, 3.8, 3.4, 3.2, 3.3, 3.8, 4.5, 5.5, 6.0, 5.5, 4.0, 2.2]
HOURLY_CUM = list(accumulate(HOURLY_WEIGHTS))
VIEWS_PER_SESSION = list(range(2, 13))
VIEWS_CUM = list(accumulate(0.78 ** (n - 2) for n in VIEWS_PER_SESSION))  # mean ≈ 5 views

FIRST_NAMES = ["Alex", "Sam", "Jo", "Priya", "Tom", "Aisha", "Ben", "Chloe", "Dan", "Emma", "Femi", "Grace",
               "Hannah", "Isaac", "Jess", "Kai", "Leah", "Mo", "Nina", "Oscar", "Ruth", "Seb", "Tara", "Zoe"]
LAST_NAMES = ["Smith", "Jones", "Patel", "Williams", "Brown", "Taylor", "Khan", "Davies", "Evans", "Wilson",
              "Thomas", "Roberts", "Walker", "Wright", "Hughes", "Green", "Hall", "Clarke", "Okafor",
              "Murphy"]
STREETS = ["High Street", "Mill Lane", "Church Road", "Station Road", "Park Avenue", "Victoria Street",
           "Queens Road", "Orchard Close", "Meadow Way", "Harbour Row"]
POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
CITIES = [("Bristol", "BS"), ("Leeds", "LS"), ("Manchester", "M"), ("Glasgow", "G"), ("Cardiff", "CF"),
          ("Norwich", "NR"), ("Brighton", "BN"), ("York", "YO"), ("Exeter", "EX"), ("London", "E")]


class CatalogueEmpty(Exception):
    """There are no active products to simulate shopping for."""


# --- the catalogue as the simulation sees it --------------------------------------------------------


@dataclass
class Catalogue:
    category_ids: list[int]
    # per category: (id, price, price as text, title, currency)
    products: list[list[tuple[int, Decimal, str, str, str]]]
    popularity: list[list[float]]  # Zipf weight of each product within its category
    price_z: list[list[float]]  # standardised log price within the category
    category_cum: list[float]  # cumulative sqrt(size) weights: how likely a category is picked

    def __len__(self) -> int:
        return len(self.category_ids)


def load_catalogue(seed: int) -> Catalogue:
    rows = list(Product.objects.filter(active=True).order_by("pk")
                .values_list("pk", "category_id", "price", "title", "currency"))
    if not rows:
        raise CatalogueEmpty("There are no active products to shop for: run `manage.py seed_demo` first.")
    by_category: dict[int, list] = {}
    for pk, category_id, price, title, currency in rows:
        price = price if price is not None else Decimal("0.00")
        by_category.setdefault(category_id, []).append((pk, price, str(price), title[:250], currency))
    category_ids = sorted(by_category)
    rng = random.Random(f"{seed}:popularity")
    products, popularity, price_z = [], [], []
    for category_id in category_ids:
        items = by_category[category_id]
        ranks = list(range(len(items)))
        rng.shuffle(ranks)  # which products of the category are the bestsellers
        logs = [math.log(float(item[1]) + 1.0) for item in items]
        mean = sum(logs) / len(logs)
        spread = math.sqrt(sum((x - mean) ** 2 for x in logs) / len(logs)) or 1.0
        products.append(items)
        popularity.append([1.0 / (rank + 1) ** ZIPF_EXPONENT for rank in ranks])
        price_z.append([(x - mean) / spread for x in logs])
    category_cum = list(accumulate(math.sqrt(len(items)) for items in products))
    return Catalogue(category_ids, products, popularity, price_z, category_cum)


# --- shoppers ---------------------------------------------------------------------------------------


@dataclass
class Profile:
    favourites: list[int]  # category indexes
    favourite_cum: list[float]
    explore: float
    price_beta: float  # > 0 prefers the dearer products of a category, < 0 the cheaper ones
    buy_probability: float
    product_cum: dict[int, list[float]] = field(default_factory=dict)

    def pick_product(self, rng: random.Random, catalogue: Catalogue) -> tuple[int, int, bool]:
        """A category index and a position in it to view, and whether the category is a favourite."""
        if rng.random() < self.explore:
            category = bisect.bisect(catalogue.category_cum, rng.random() * catalogue.category_cum[-1])
            category = min(category, len(catalogue) - 1)
        else:
            cum = self.favourite_cum
            category = self.favourites[min(bisect.bisect(cum, rng.random() * cum[-1]), len(cum) - 1)]
        cum = self.product_cum.get(category)
        if cum is None:
            beta, weights = self.price_beta, catalogue.popularity[category]
            cum = self.product_cum[category] = list(accumulate(
                w * math.exp(beta * z) for w, z in zip(weights, catalogue.price_z[category], strict=True)))
        position = min(bisect.bisect(cum, rng.random() * cum[-1]), len(cum) - 1)
        return category, position, category in self.favourites


def make_profile(rng: random.Random, catalogue: Catalogue) -> Profile:
    count = min(len(catalogue), rng.choices((1, 2, 3), weights=(0.3, 0.45, 0.25))[0])
    favourites: list[int] = []
    while len(favourites) < count:
        category = min(bisect.bisect(catalogue.category_cum, rng.random() * catalogue.category_cum[-1]),
                       len(catalogue) - 1)
        if category not in favourites:
            favourites.append(category)
    weights = [rng.gammavariate(1.0, 1.0) + 1e-6 for _ in favourites]  # Dirichlet(1, …, 1) after normalising
    return Profile(
        favourites=favourites, favourite_cum=list(accumulate(weights)), explore=rng.uniform(0.05, 0.25),
        price_beta=rng.gauss(0.0, 0.8), buy_probability=rng.uniform(0.25, 0.45),
    )


def poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def new_uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


# --- one run ------------------------------------------------------------------------------------------


@dataclass
class Summary:
    customers_created: int = 0
    customers_reused: int = 0
    shoppers_simulated: int = 0
    shoppers_skipped: int = 0  # already had history (rerun without replace)
    anonymous_visitors: int = 0
    linked_visitors: int = 0
    sessions: int = 0
    events: Counter = field(default_factory=Counter)
    events_inserted: int = 0
    orders: int = 0
    line_items: int = 0
    returns: int = 0
    revenue: Decimal = Decimal("0.00")
    deleted: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def events_total(self) -> int:
        return sum(self.events.values())


@dataclass
class Shopper:
    index: int
    customer_id: int | None  # None: an anonymous visitor who never logs in
    visitor_id: uuid.UUID
    address: tuple | None = None  # (email, full_name, line1, line2, city, postcode, country)


@dataclass
class _Pending:
    """What one chunk of shoppers produced, written in one transaction."""

    events: list[dict] = field(default_factory=list)
    links: dict = field(default_factory=dict)  # visitor id → customer id
    orders: list[tuple[Order, list[LineItem], list[tuple[int, Return]]]] = field(default_factory=list)


class Simulation:
    def __init__(self, *, customers: int, days: int, seed: int, anonymous_share: float = 0.3,
                 sessions_per_day: float = 0.25, now: dt.datetime | None = None):
        if customers < 0 or days < 1:
            raise ValueError("customers must be ≥ 0 and days ≥ 1")
        if not 0 <= anonymous_share <= 1:
            raise ValueError("anonymous_share must be between 0 and 1")
        self.customers, self.days, self.seed = customers, days, seed
        self.anonymous_share, self.sessions_per_day = anonymous_share, sessions_per_day
        self.now = now or timezone.now()
        self.window_start = self.now - dt.timedelta(days=days)
        self.midnight = self.now.replace(hour=0, minute=0, second=0, microsecond=0)
        self.catalogue = load_catalogue(seed)
        self.session_prefix = f"sim{seed}-"
        self.summary = Summary()
        self._order_numbers: set[str] = set()

    # -- identities ------------------------------------------------------------------------------------

    def username(self, index: int) -> str:
        return f"simulated-{self.seed}-{index}@example.com"

    def ensure_customers(self) -> list[Shopper]:
        """Create the missing simulated customers (user, customer, address) in bulk; reuse the rest."""
        User = get_user_model()
        wanted = {self.username(i): i for i in range(self.customers)}
        prefix = f"simulated-{self.seed}-"
        with transaction.atomic():
            users = dict(User.objects.filter(username__startswith=prefix).values_list("username", "pk"))
            new_users = []
            for name, i in wanted.items():
                if name in users:
                    continue
                rng = random.Random(f"{self.seed}:identity:{i}")
                joined = self.window_start - dt.timedelta(days=rng.uniform(0, 365))
                new_users.append(User(
                    username=name, email=name, first_name=rng.choice(FIRST_NAMES),
                    last_name=rng.choice(LAST_NAMES), password=make_password(None), date_joined=joined,
                ))
            for user in User.objects.bulk_create(new_users, batch_size=5000):
                users[user.username] = user.pk
            customers = dict(Customer.objects.filter(user__username__startswith=prefix)
                             .values_list("user_id", "pk"))
            new_customers = [Customer(user_id=users[name], accepts_marketing=random.Random(
                f"{self.seed}:identity:{i}:marketing").random() < 0.4)
                for name, i in wanted.items() if users[name] not in customers]
            created = Customer.objects.bulk_create(new_customers, batch_size=5000)
            for customer in created:
                customers[customer.user_id] = customer.pk
            if created:  # bulk_create overwrites auto_now_add values: sign-up time = date joined
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"""UPDATE {Customer._meta.db_table} c SET created_at = u.date_joined
                            FROM {User._meta.db_table} u WHERE u.id = c.user_id AND c.id = ANY(%s)""",
                        [[c.pk for c in created]],
                    )
            customer_ids = {name: customers[users[name]] for name in wanted}
            with_address = set(Address.objects.filter(customer_id__in=customer_ids.values(), is_default=True)
                               .values_list("customer_id", flat=True))
            addresses = []
            for name, i in wanted.items():
                if customer_ids[name] in with_address:
                    continue
                rng = random.Random(f"{self.seed}:identity:{i}")
                rng.random()  # the sign-up draw above
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                city, area = rng.choice(CITIES)
                addresses.append(Address(
                    customer_id=customer_ids[name], full_name=f"{first} {last}",
                    line1=f"{rng.randint(1, 180)} {rng.choice(STREETS)}", city=city,
                    postcode=f"{area}{rng.randint(1, 28)} {rng.randint(1, 9)}"
                             f"{rng.choice(POSTCODE_LETTERS)}{rng.choice(POSTCODE_LETTERS)}",
                    country="GB", is_default=True,
                ))
            Address.objects.bulk_create(addresses, batch_size=5000)
        self.summary.customers_created = len(created)
        self.summary.customers_reused = self.customers - len(created)

        address_of = {cid: rest for cid, *rest in Address.objects.filter(
            customer_id__in=customer_ids.values(), is_default=True).values_list(
            "customer_id", "customer__user__email", "full_name", "line1", "line2", "city", "postcode",
            "country")}
        shoppers = []
        for name, i in wanted.items():
            customer_id = customer_ids[name]
            shoppers.append(Shopper(i, customer_id, new_uuid(random.Random(f"{self.seed}:visitor:{i}")),
                                    tuple(address_of[customer_id])))
        return shoppers

    def anonymous_visitors(self) -> list[Shopper]:
        count = round(self.customers * self.anonymous_share)
        self.summary.anonymous_visitors = count
        return [Shopper(j, None, new_uuid(random.Random(f"{self.seed}:anonymous:{j}"))) for j in range(count)]

    # -- replace ---------------------------------------------------------------------------------------

    def delete_history(self) -> dict[str, int]:
        """Delete this seed's simulated events, orders (lines, returns) and visitor links; keep customers."""
        User = get_user_model()
        customers = f"""SELECT c.id FROM {Customer._meta.db_table} c
                        JOIN {User._meta.db_table} u ON u.id = c.user_id WHERE u.username LIKE %s"""
        pattern = f"simulated-{self.seed}-%"
        orders = f"SELECT id FROM {Order._meta.db_table} WHERE customer_id IN ({customers})"
        lines = f"SELECT id FROM {LineItem._meta.db_table} WHERE order_id IN ({orders})"
        deleted = {}
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {partitions.TABLE} WHERE session_id LIKE %s",
                           [self.session_prefix + "%"])
            deleted["events"] = cursor.rowcount
            cursor.execute(f"DELETE FROM {Return._meta.db_table} WHERE line_id IN ({lines})", [pattern])
            deleted["returns"] = cursor.rowcount
            cursor.execute(f"DELETE FROM {LineItem._meta.db_table} WHERE order_id IN ({orders})", [pattern])
            cursor.execute(f"DELETE FROM {Order._meta.db_table} WHERE customer_id IN ({customers})",
                           [pattern])
            deleted["orders"] = cursor.rowcount
            cursor.execute(f"DELETE FROM {VisitorLink._meta.db_table} WHERE customer_id IN ({customers})",
                           [pattern])
            deleted["visitor_links"] = cursor.rowcount
        self.summary.deleted = deleted
        return deleted

    # -- behaviour -------------------------------------------------------------------------------------

    def session_starts(self, rng: random.Random, count: int) -> list[dt.datetime]:
        starts = []
        latest = self.now - dt.timedelta(hours=1)
        for _ in range(count):
            day = rng.randrange(self.days)
            hour = min(bisect.bisect(HOURLY_CUM, rng.random() * HOURLY_CUM[-1]), 23)
            start = self.midnight + dt.timedelta(days=-day, hours=hour, seconds=rng.randrange(3600))
            while start > latest:  # later than an hour ago: the same time a day earlier (counts stay clock-free;
                start -= dt.timedelta(days=1)  # twice in the first hour after midnight)
            starts.append(start)
        starts.sort()
        return starts

    def simulate_shopper(self, shopper: Shopper, pending: _Pending) -> None:
        anonymous = shopper.customer_id is None
        rng = random.Random(f"{self.seed}:{'anonymous' if anonymous else 'customer'}:{shopper.index}")
        profile = make_profile(rng, self.catalogue)
        if anonymous:
            count = 1 + poisson(rng, 1.0)
        else:
            rate = rng.gammavariate(2.0, self.sessions_per_day / 2.0)
            count = poisson(rng, rate * self.days)
        for start in self.session_starts(rng, count):
            anonymous_first = not anonymous and rng.random() < self.anonymous_share
            self.simulate_session(rng, profile, shopper, start, anonymous_first, pending)

    def simulate_session(self, rng: random.Random, profile: Profile, shopper: Shopper, start: dt.datetime,
                         anonymous_first: bool, pending: _Pending) -> None:
        catalogue, summary, events = self.catalogue, self.summary, pending.events
        session = f"{self.session_prefix}{rng.getrandbits(64):016x}"
        visitor = str(shopper.visitor_id)
        views = VIEWS_PER_SESSION[min(bisect.bisect(VIEWS_CUM, rng.random() * VIEWS_CUM[-1]),
                                      len(VIEWS_PER_SESSION) - 1)]
        login_at = rng.randint(1, views) if anonymous_first else 0  # views seen before logging in
        customer_id = None if anonymous_first else shopper.customer_id
        if anonymous_first:
            pending.links[shopper.visitor_id] = shopper.customer_id
        summary.sessions += 1

        def event(when, event_type, product, quantity=1, price=None, surface="product_page"):
            events.append({
                "id": str(new_uuid(rng)), "created_at": when.isoformat(), "event_type": event_type,
                "customer_id": customer_id, "anonymous_id": visitor, "session_id": session,
                "product_id": product[0], "quantity": quantity,
                "price": price if price is not None else product[2],
                "surface": surface, "experiments": {}, "query": "",
            })
            summary.events[event_type] += 1

        when = start
        cart: dict[int, list] = {}  # product id → [product, quantity]
        for n in range(views):
            if n == login_at and anonymous_first and n:
                customer_id = shopper.customer_id
            category, position, favourite = profile.pick_product(rng, catalogue)
            product = catalogue.products[category][position]
            event(when, EventType.VIEW.value, product)
            when += dt.timedelta(seconds=min(900.0, max(5.0, rng.lognormvariate(4.1, 0.8))))
            add_probability = ADD_TO_CART_FAVOURITE if favourite else ADD_TO_CART_EXPLORING
            if product[0] not in cart and rng.random() < add_probability:
                quantity = 1 if rng.random() < 0.88 else rng.choice((2, 2, 3))
                cart[product[0]] = [product, quantity]
                event(when, EventType.ADD_TO_CART.value, product, quantity, surface="cart")
                when += dt.timedelta(seconds=rng.uniform(10, 90))
        if not cart:
            return
        for product_id, (product, quantity) in list(cart.items()):
            if rng.random() < REMOVE_FROM_CART:
                event(when, EventType.REMOVE_FROM_CART.value, product, quantity, surface="cart")
                when += dt.timedelta(seconds=rng.uniform(5, 60))
                del cart[product_id]
        if not cart or shopper.customer_id is None or rng.random() >= profile.buy_probability:
            return
        customer_id = shopper.customer_id  # checkout needs a login
        when += dt.timedelta(seconds=rng.uniform(60, 300))
        self.place_order(rng, shopper, list(cart.values()), when, event, pending)

    def place_order(self, rng: random.Random, shopper: Shopper, cart: list, when: dt.datetime, event,
                    pending: _Pending) -> None:
        number = f"{rng.getrandbits(32):08X}"
        while number in self._order_numbers:
            number = f"{rng.getrandbits(32):08X}"
        self._order_numbers.add(number)
        age = self.now - when
        status = (Order.Status.PLACED if age < dt.timedelta(days=1) else
                  Order.Status.SHIPPED if age < dt.timedelta(days=3) else Order.Status.DELIVERED).value
        email, full_name, line1, line2, city, postcode, country = shopper.address
        lines, returns = [], []
        total = Decimal("0.00")
        for product, quantity in cart:
            pk, price, price_text, title, currency = product
            line = LineItem(product_id=pk, title=title, sku="", unit_price=price, quantity=quantity)
            lines.append(line)
            total += price * quantity
            event(when, EventType.PURCHASE.value, product, quantity, surface="checkout")
        order = Order(number=number, customer_id=shopper.customer_id, visitor_id=shopper.visitor_id,
                      email=email, full_name=full_name, line1=line1, line2=line2, city=city,
                      postcode=postcode, country=country, status=status, currency=cart[0][0][4], total=total,
                      created_at=when)
        for index, line in enumerate(lines):
            if rng.random() >= RETURN_RATE:
                continue
            quantity = line.quantity if rng.random() < 0.8 else rng.randint(1, line.quantity)
            # 2–14 days later, but never after now (the count must not depend on the clock)
            returned = when + min(dt.timedelta(days=rng.uniform(2, 14)), (self.now - when) * 0.9)
            received = self.now - returned > dt.timedelta(days=5)
            returns.append((index, Return(
                quantity=quantity, reason=rng.choice(Return.Reason.values), created_at=returned,
                status=(Return.Status.RECEIVED if received else Return.Status.REQUESTED).value,
            )))
            pending.events.append({
                "id": str(new_uuid(rng)), "created_at": returned.isoformat(),
                "event_type": EventType.RETURN.value, "customer_id": shopper.customer_id,
                "anonymous_id": str(shopper.visitor_id),
                "session_id": f"{self.session_prefix}{rng.getrandbits(64):016x}",
                "product_id": line.product_id,
                "quantity": quantity, "price": str(line.unit_price), "surface": "account", "experiments": {},
                "query": "",
            })
            self.summary.events[EventType.RETURN.value] += 1
        if returns:
            order.status = Order.Status.DELIVERED.value
        pending.orders.append((order, lines, returns))
        self.summary.revenue += total

    # -- writing ---------------------------------------------------------------------------------------

    def shoppers_with_history(self, shoppers: list[Shopper]) -> set[int]:
        """Indexes (into ``shoppers``) of those that already have stored events."""
        customer_ids = [s.customer_id for s in shoppers if s.customer_id is not None]
        visitor_ids = [s.visitor_id for s in shoppers if s.customer_id is None]
        found_customers, found_visitors = set(), set()
        with connection.cursor() as cursor:
            if customer_ids:
                cursor.execute(f"""SELECT DISTINCT customer_id FROM {partitions.TABLE}
                                   WHERE customer_id = ANY(%s)""", [customer_ids])
                found_customers = {row[0] for row in cursor.fetchall()}
            if visitor_ids:
                cursor.execute(f"""SELECT DISTINCT anonymous_id FROM {partitions.TABLE}
                                   WHERE anonymous_id = ANY(%s)""", [visitor_ids])
                found_visitors = {row[0] for row in cursor.fetchall()}
        return {n for n, s in enumerate(shoppers)
                if (s.customer_id in found_customers if s.customer_id is not None
                    else s.visitor_id in found_visitors)}

    def write(self, pending: _Pending) -> None:
        summary = self.summary
        with transaction.atomic():
            if pending.links:
                VisitorLink.objects.bulk_create(
                    [VisitorLink(visitor_id=v, customer_id=c) for v, c in pending.links.items()],
                    ignore_conflicts=True, batch_size=5000)
                summary.linked_visitors += len(pending.links)
            if pending.orders:
                # bulk_create overwrites auto_now_add fields with now(), in memory too: keep the simulated
                # times aside and put them back with one UPDATE per table afterwards.
                order_times = [o.created_at for o, _, _ in pending.orders]
                return_times = [ret.created_at for _, _, rets in pending.orders for _, ret in rets]
                orders = Order.objects.bulk_create([o for o, _, _ in pending.orders], batch_size=2000)
                lines, returns = [], []
                for order, (_, order_lines, order_returns) in zip(orders, pending.orders, strict=True):
                    for line in order_lines:
                        line.order_id = order.pk
                    lines.extend(order_lines)
                    returns.extend((order_lines[index], ret) for index, ret in order_returns)
                LineItem.objects.bulk_create(lines, batch_size=5000)
                for line, ret in returns:
                    ret.line_id = line.pk
                Return.objects.bulk_create([ret for _, ret in returns], batch_size=5000)
                self._set_created_at(Order, [o.pk for o in orders], order_times)
                self._set_created_at(Return, [ret.pk for _, ret in returns], return_times)
                for order, when in zip(orders, order_times, strict=True):
                    order.created_at = when
                summary.orders += len(orders)
                summary.line_items += len(lines)
                summary.returns += len(returns)
            for start in range(0, len(pending.events), EVENT_BATCH_SIZE):
                batch = pending.events[start:start + EVENT_BATCH_SIZE]
                summary.events_inserted += services.store_events(batch)

    @staticmethod
    def _set_created_at(model, pks: list[int], times: list[dt.datetime]) -> None:
        if not pks:
            return
        with connection.cursor() as cursor:
            cursor.execute(
                f"""UPDATE {model._meta.db_table} t SET created_at = v.created_at
                    FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, created_at) WHERE t.id = v.id""",
                [pks, times],
            )

    def run(self, *, replace: bool = False, progress: Callable[[int], None] | None = None) -> Summary:
        started = time.monotonic()
        partitions.ensure_partitions(start=self.window_start.date())
        shoppers = self.ensure_customers()
        if replace:
            self.delete_history()
        shoppers += self.anonymous_visitors()
        self._order_numbers = set(Order.objects.values_list("number", flat=True))
        for start in range(0, len(shoppers), CHUNK_SIZE):
            chunk = shoppers[start:start + CHUNK_SIZE]
            skip = self.shoppers_with_history(chunk)
            pending = _Pending()
            for n, shopper in enumerate(chunk):
                if n in skip:
                    self.summary.shoppers_skipped += 1
                    continue
                self.simulate_shopper(shopper, pending)
                self.summary.shoppers_simulated += 1
            self.write(pending)
            if progress:
                progress(len(chunk))
        self.summary.seconds = time.monotonic() - started
        return self.summary


def simulate(*, customers: int, days: int, seed: int = 1, anonymous_share: float = 0.3,
             sessions_per_day: float = 0.25, replace: bool = False, now: dt.datetime | None = None,
             progress: Callable[[int], None] | None = None) -> Summary:
    """Simulate ``customers`` shoppers (plus ``anonymous_share × customers`` never-logged-in visitors)
    over the last ``days`` days; see the module docstring. Raises ``CatalogueEmpty`` with no products."""
    return Simulation(customers=customers, days=days, seed=seed, anonymous_share=anonymous_share,
                      sessions_per_day=sessions_per_day, now=now).run(replace=replace, progress=progress)
