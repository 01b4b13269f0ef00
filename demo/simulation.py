"""Simulated shopper behaviour: customers with consistent tastes browsing, buying and returning.

The recommendation, search-boost and demand features learn from ``CustomerEvent`` rows; a fresh shop
has none. ``Simulation.run`` (behind ``manage.py simulate_shoppers``) writes a history that carries signal:

- every simulated customer has latent tastes (``demo.simulated_shoppers``): 1–3 favourite categories
  with Dirichlet(1) weights, an exploration rate (5–25 % of views wander into any category), a price
  sensitivity (log-price preference within a category) and an activity rate (sessions/day,
  gamma-distributed around ``sessions_per_day``); product popularity within each category is Zipf-like
  (s = 1.1), so a few products are bestsellers;
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
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import accumulate

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from commerce.customers.models import Customer
from commerce.events import partitions, services
from commerce.events.models import EventType, VisitorLink
from commerce.orders.models import LineItem, Order, Return
from demo.simulated_shoppers import (
    Profile,
    Shopper,
    anonymous_visitors,
    ensure_customers,
    load_catalogue,
    make_profile,
    new_uuid,
    poisson,
)

# Measured (10k customers, 2 cores): a store_events call of 20,000 simulated events takes ≈ 0.9 s
# (COPY ≈ 0.25 s, INSERT … ON CONFLICT into the partitions with their five indexes ≈ 0.65 s); larger
# batches gain nothing measurable and hold more memory and a longer transaction.
EVENT_BATCH_SIZE = 20_000
CHUNK_SIZE = 1000  # shoppers simulated and written per transaction

ADD_TO_CART_FAVOURITE, ADD_TO_CART_EXPLORING = 0.11, 0.06
REMOVE_FROM_CART = 0.12
RETURN_RATE = 0.05
# Sessions started per hour of the day (UTC, a UK audience): quiet nights, a lunch bump, evening peak.
HOURLY_WEIGHTS = [1.0, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 2.5, 3.0, 3.2, 3.4,
                  4.0, 3.8, 3.4, 3.2, 3.3, 3.8, 4.5, 5.5, 6.0, 5.5, 4.0, 2.2]
HOURLY_CUM = list(accumulate(HOURLY_WEIGHTS))
VIEWS_PER_SESSION = list(range(2, 13))
VIEWS_CUM = list(accumulate(0.78 ** (n - 2) for n in VIEWS_PER_SESSION))  # mean ≈ 5 views


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
class _Pending:
    """What one chunk of shoppers produced, written in one transaction."""

    events: list[dict] = field(default_factory=list)
    links: dict = field(default_factory=dict)  # visitor id → customer id
    orders: list[tuple[Order, list[LineItem], list[tuple[int, Return]]]] = field(default_factory=list)


class Simulation:
    """One run: the seed's shoppers over the ``days`` days up to ``now`` (see the module docstring)."""

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
        shoppers, created = ensure_customers(self.seed, self.customers, self.window_start)
        self.summary.customers_created, self.summary.customers_reused = created, self.customers - created
        if replace:
            self.delete_history()
        self.summary.anonymous_visitors = round(self.customers * self.anonymous_share)
        shoppers += anonymous_visitors(self.seed, self.summary.anonymous_visitors)
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

