"""Merchandisers' recommendation rules (read side): ``serving.recommend`` and ``serving.carousel`` apply them
to a row once its lists are resolved into available products, so the API, the carousel blocks and the
shopper's own fragments all see them. The admin's preview applies them to the same rows (``rule_preview``).

A rule applies to the rows of its placements (a surface, a carousel strategy) while it is enabled and
inside its window. When a placement has live rules the row is resolved ``OVERFETCH`` times longer, so
that what the rules leave out is replaced and the row stays full; then, in this order:

1. leave out: hidden products, products of hidden categories, and the products a rule finds ineligible
   (priced 0, in the shopper's cart, ordered by the shopper lately);
2. boost and bury: a product's weight is ``1 / its position``, times ``1 + boost`` for every rule whose
   category (or below) or attribute value it has, or whose margin it reaches (its selling price less its
   unit cost, over the price), and the row is re-sorted by weight. Weights, not the lists' scores: a row
   joins lists whose scores do not compare (similarity, then popularity);
3. pin: the product moves to its position, or joins the row there if the row did not have it (when it is
   active, in stock and not left out by a rule). When two pins claim a position, the earlier position's
   rule wins, then the rule named first, and the other gets the next position.

Inactive and sold-out products are never served (``serving`` drops them), pinned or not. The enabled
rules are cached as one table by placement under a generation that every save or delete of a rule bumps
(``receivers``); ``version()`` names the generation and the rules live now, for the keys of cached HTML.
"""

import datetime as dt
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.core.cache import cache
from django.db.models import Max
from django.utils import timezone

from ai.common import has_attribute
from ai.recommendations.models import RecommendationRule
from ai.recommendations.rows import Recommendation
from commerce.catalogue.models import Product
from commerce.orders.models import CartLine, LineItem, Order
from core import counters

OVERFETCH = 3
GENERATION_KEY = "recs:rules:generation"
TABLE_KEY = "recs:rules:{}"
TABLE_TTL = 3600  # a save bumps the generation at once; the TTL only bounds edits made outside Django
# How long a process trusts its own copy of the table: a page asks for it several times (the keys of its cached
# HTML, each row's rules), each ask two Redis round trips. A save in another process reaches this one this
# much later; the process that saved sees it at once (``forget``).
LOCAL_SECONDS = 1.0
_local = {"until": 0.0, "table": None}
PINNED_STRATEGY = "pinned"
PINNED_REASON = "Featured"


@dataclass(frozen=True)
class Rule:
    """A recommendation rule as rows apply it: plain values, cheap to cache and to match."""

    pk: int | None
    name: str
    placements: frozenset[str]
    pin: tuple[int, int] | None = None  # (product id, position)
    hidden_product_ids: frozenset[int] = frozenset()
    hidden_category_ids: frozenset[int] = frozenset()
    boost_category_ids: frozenset[int] = frozenset()
    boost_attribute: tuple[str, str] | None = None
    boost_min_margin: float | None = None  # a share of the price, 0–1
    boost: float = 0.0  # the share a product's weight gains (negative: loses)
    exclude_zero_price: bool = False
    exclude_in_cart: bool = False
    exclude_bought_within_days: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    @classmethod
    def of(cls, rule: RecommendationRule) -> "Rule":
        return cls(
            pk=rule.pk, name=rule.name, placements=frozenset(rule.placements),
            pin=(rule.pin_product_id, rule.pin_position) if rule.pin_product_id and rule.pin_position else None,
            hidden_product_ids=frozenset(product.pk for product in rule.hidden_products.all()),
            hidden_category_ids=frozenset(pk for category in rule.hidden_categories.all()
                                          for pk in category.descendant_ids()),
            boost_category_ids=frozenset(rule.boost_category.descendant_ids() if rule.boost_category_id else ()),
            boost_attribute=((rule.boost_attribute_name, rule.boost_attribute_value)
                             if rule.boost_attribute_name else None),
            boost_min_margin=(rule.boost_min_margin_percent / 100
                              if rule.boost_min_margin_percent is not None else None),
            boost=rule.boost_percent / 100, exclude_zero_price=rule.exclude_zero_price,
            exclude_in_cart=rule.exclude_in_cart, exclude_bought_within_days=rule.exclude_bought_within_days,
            starts_at=rule.starts_at, ends_at=rule.ends_at)

    def live(self, now: datetime) -> bool:
        return (self.starts_at is None or self.starts_at <= now) and (self.ends_at is None or now < self.ends_at)

    def boosts(self, product: Product) -> bool:
        return bool(self.boost) and (product.category_id in self.boost_category_ids or (
            self.boost_attribute is not None and has_attribute(product.attributes or {}, *self.boost_attribute))
            or (self.boost_min_margin is not None and margin(product) >= self.boost_min_margin))


def margin(product: Product) -> float:
    """The share of its selling price the product earns over its unit cost (-inf when unknown or unpriced)."""
    if product.unit_cost is None or not product.price:
        return float("-inf")
    return float((product.price - product.unit_cost) / product.price)


@dataclass(frozen=True)
class Shopper:
    """Whose row it is, for the rules that leave out their cart or their recent orders. ``cart_product_ids``:
    the cart when the caller has it (the cart surface), else read when a rule needs it."""

    customer_id: int | None = None
    visitor_id: object = None
    cart_product_ids: tuple[int, ...] | None = None


@dataclass
class Ranked:
    """A row after the rules, what each rule did to a product (for the admin's preview) and the products
    the rules left out, with why."""

    items: list = field(default_factory=list)
    reasons: dict[int, list[str]] = field(default_factory=dict)
    left_out: list[tuple[Product, str]] = field(default_factory=list)


# --- the cached table -----------------------------------------------------------------------------


def generation() -> int:
    return counters.current(GENERATION_KEY)


def forget() -> None:
    """Retire the cached table and, through ``version()``, every fragment built with the old rules."""
    counters.bump(GENERATION_KEY)
    forget_local()


def forget_local() -> None:
    """Drop this process's copy of the table: the next ask reads the current generation."""
    _local.update(until=0.0, table=None)


def table() -> dict[str, list[Rule]]:
    """The enabled rules, whatever their window, by placement; cached."""
    return _generation_and_table()[1]


def _generation_and_table() -> tuple[int, dict[str, list[Rule]]]:
    """The table and the generation it was read under: from Redis, then for ``LOCAL_SECONDS`` from here."""
    now = time.monotonic()
    if _local["until"] <= now:
        current = generation()
        _local.update(until=now + LOCAL_SECONDS, table=(current, _shared_table(current)))
    return _local["table"]


def _shared_table(current_generation: int) -> dict[str, list[Rule]]:
    key = TABLE_KEY.format(current_generation)
    by_placement = cache.get(key)
    if by_placement is None:
        by_placement = {}
        enabled = RecommendationRule.objects.filter(enabled=True).select_related("boost_category") \
            .prefetch_related("hidden_products", "hidden_categories")
        for rule in map(Rule.of, enabled):
            for placement in rule.placements:
                by_placement.setdefault(placement, []).append(rule)
        cache.set(key, by_placement, TABLE_TTL)
    return by_placement


def live_rules(placement: str) -> list[Rule]:
    now = timezone.now()
    return [rule for rule in table().get(placement, []) if rule.live(now)]


def needs_shopper(placement: str) -> bool:
    """Whether a live rule of ``placement`` leaves out what depends on the shopper (their cart, their recent
    orders): its rows differ per shopper and cannot be shared between them."""
    return any(rule.exclude_in_cart or rule.exclude_bought_within_days for rule in live_rules(placement))


def version() -> str:
    """Names the rules live now: a save, a delete, or a window opening or closing changes it."""
    now = timezone.now()
    read_under, by_placement = _generation_and_table()
    live = sorted({rule.pk for rules in by_placement.values() for rule in rules if rule.live(now)})
    return f"{read_under}-{hashlib.sha1(repr(live).encode()).hexdigest()[:8]}" if live else f"{read_under}-none"


# --- applying them --------------------------------------------------------------------------------


def apply(placement: str, resolve: Callable[[int], list], limit: int, *, customer_id: int | None = None,
          visitor_id=None, cart_product_ids: list[int] | None = None, rules: list[Rule] | None = None,
          never: frozenset[int] = frozenset()) -> list:
    """The row ``resolve(n)`` builds (its first ``n`` available products, as ``rows.Recommendation``s)
    with the placement's live rules (``rules``: these instead) applied, at most ``limit`` long. Without
    rules it is ``resolve(limit)``: no more work than before rules existed. ``never``: products the row
    must not show whatever a rule pins (the page's own product, what is already in the row or the cart)."""
    rules = live_rules(placement) if rules is None else rules
    if not rules:
        return resolve(limit)
    shopper = Shopper(customer_id, visitor_id, tuple(cart_product_ids) if cart_product_ids is not None else None)
    return rerank(resolve(limit * OVERFETCH), rules, limit, shopper, never).items


def rerank(candidates: list, rules: list[Rule], limit: int, shopper: Shopper = Shopper(),
           never: frozenset[int] = frozenset()) -> Ranked:
    """``candidates`` (``rows.Recommendation``s, best first) with ``rules`` applied in the module's order."""
    ranked = Ranked()
    pins = sorted((rule for rule in rules if rule.pin and rule.pin[0] not in never),
                  key=lambda rule: (rule.pin[1], rule.name))
    pinned = _pinned_products(pins, candidates)
    excluded = _excluded(rules, [c.product for c in candidates] + list(pinned.values()), shopper)
    kept = []
    for candidate in candidates:
        why = excluded.get(candidate.product.pk)
        if why:
            ranked.left_out.append((candidate.product, why))
        else:
            kept.append(candidate)
    kept = _boost(kept, [rule for rule in rules if rule.boost], ranked.reasons)
    ranked.items = _pin(kept, limit, pins, pinned, excluded, ranked.reasons)
    return ranked


def _pinned_products(pins: list[Rule], candidates: list) -> dict[int, Product]:
    """The pinned products, in stock and active: the row's own objects, else one query."""
    wanted = {rule.pin[0] for rule in pins}
    found = {c.product.pk: c.product for c in candidates if c.product.pk in wanted}
    if missing := wanted - found.keys():
        found |= Product.objects.available().in_bulk(missing)
    return found


def _excluded(rules: list[Rule], products: list[Product], shopper: Shopper) -> dict[int, str]:
    """Product id → why a rule leaves it out, for the products given."""
    ids = [product.pk for product in products]
    in_cart = shopper_cart(shopper) if any(rule.exclude_in_cart for rule in rules) else frozenset()
    days = max((rule.exclude_bought_within_days or 0 for rule in rules), default=0)
    now = timezone.now()
    ordered = _last_ordered(shopper, ids, now - dt.timedelta(days=days)) if days else {}
    why: dict[int, str] = {}
    for product in products:
        for rule in rules:
            recent = rule.exclude_bought_within_days and product.pk in ordered and (
                ordered[product.pk] >= now - dt.timedelta(days=rule.exclude_bought_within_days))
            reason = ("hidden" if product.pk in rule.hidden_product_ids
                      else "category hidden" if product.category_id in rule.hidden_category_ids
                      else "priced 0" if rule.exclude_zero_price and not product.price
                      else "in the cart" if rule.exclude_in_cart and product.pk in in_cart
                      else "ordered lately" if recent else None)
            if reason:
                why.setdefault(product.pk, f"{reason} ({rule.name})")
    return why


def shopper_cart(shopper: Shopper) -> frozenset[int]:
    """The products in the shopper's cart: the ones given, else their stored cart's."""
    if shopper.cart_product_ids is not None:
        return frozenset(shopper.cart_product_ids)
    owner = _owner(shopper, "cart__")
    return frozenset(CartLine.objects.filter(**owner).values_list("product_id", flat=True)) if owner else frozenset()


def _last_ordered(shopper: Shopper, product_ids: list[int], since: datetime) -> dict[int, datetime]:
    """When the shopper last ordered each of these products, for orders since ``since`` (not cancelled)."""
    owner = _owner(shopper, "order__")
    if not owner:
        return {}
    return dict(LineItem.objects.filter(**owner, product_id__in=product_ids, order__created_at__gte=since)
                .exclude(order__status=Order.Status.CANCELLED).values("product_id")
                .annotate(last=Max("order__created_at")).values_list("product_id", "last"))


def _owner(shopper: Shopper, prefix: str) -> dict:
    """The shopper's carts or orders: the customer's, else the anonymous visitor's."""
    if shopper.customer_id:
        return {f"{prefix}customer_id": shopper.customer_id}
    return {f"{prefix}visitor_id": shopper.visitor_id} if shopper.visitor_id else {}


def _boost(kept: list, boosts: list[Rule], reasons: dict[int, list[str]]) -> list:
    if not boosts:
        return kept
    weighted = []
    for position, candidate in enumerate(kept, start=1):
        weight = 1 / position
        for rule in boosts:
            if rule.boosts(candidate.product):
                weight *= 1 + rule.boost
                verb = "boosted" if rule.boost > 0 else "buried"
                reasons.setdefault(candidate.product.pk, []).append(f"{verb} {rule.boost:+.0%} ({rule.name})")
        weighted.append((weight, position, candidate))
    return [candidate for _, _, candidate in sorted(weighted, key=lambda item: (-item[0], item[1]))]


def _pin(kept: list, limit: int, pins: list[Rule], pinned: dict[int, Product], excluded: dict[int, str],
         reasons: dict[int, list[str]]) -> list:
    """The first ``limit`` of ``kept`` with the pins at their positions; a pinned product further down
    ``kept`` keeps how it was served."""
    if not pins:
        return kept[:limit]
    by_id = {c.product.pk: c for c in kept}
    ids, placed = [c.product.pk for c in kept[:limit]], set()
    for rule in pins:
        pid, position = rule.pin
        if pid in placed or pid not in pinned or pid in excluded:
            continue
        if pid in ids:
            ids.remove(pid)
        elif pid not in by_id:
            by_id[pid] = Recommendation(pinned[pid], 0.0, PINNED_REASON, PINNED_STRATEGY)
        index = min(position - 1, len(ids))
        while index < len(ids) and ids[index] in placed:  # an earlier pin holds this position
            index += 1
        ids.insert(index, pid)
        placed.add(pid)
        reasons.setdefault(pid, []).append(f"pinned at {position} ({rule.name})")
    return [by_id[pid] for pid in ids[:limit]]

