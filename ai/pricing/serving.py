"""Dynamic pricing's read side: a product's price and price history (the price API, the admin), the rule that
governs a product and the prices its guardrails allow now, the kill switch's state and who may operate it.
Editors' actions (``review``) and the engine (``pipeline``) decide with these.

Guardrails, for a product whose rule allows [lower, upper] and at most x % per interval I: the new
price p must lie in [lower, upper] and within x % of every price q the product had during the last I
(q·(1 − x) ≤ p ≤ q·(1 + x)). So over any span of one interval the price never moves more than x %
from where it was at the start of that span. Where the rule's bounds and the interval limit cannot
both hold (an editor moved the bounds), the bounds win. With a minimum time between changes, a product
changed more recently keeps its price (unless outside the bounds). Only the kill switch, a rule's bounds
and an editor editing the product move a price outside the interval limit; ``bound_by`` names the
guardrail that bound each decision.
"""

import datetime as dt
from decimal import Decimal

from django.db import connection

from ai.pricing.models import BoundBy, KillSwitch, PriceHistory, PricingRule, ceil_cents, floor_cents
from commerce.catalogue.models import Category, PriceList, Product
from commerce.catalogue.services import product_price, shown_price

APPROVE_PERMISSION = "pricing.approve_pricechange"
KILL_SWITCH_PERMISSION = "pricing.change_killswitch"

# The engine and a rule's bounds move prices in batches of this many products, one short transaction each
# under the switch's share lock (``kill_switch_engaged(lock=True)``). Measured (bench/pricing.py, 100k
# products): a batch of 5,000 is decided and written in ≈ 0.3 s, so approvals and the kill switch never
# wait long behind a run.
BATCH_SIZE = 5000


def kill_switch_engaged(*, lock: bool = False) -> bool:
    """Whether dynamic pricing is stopped. With ``lock``, holds a share lock on the switch until the
    transaction ends, so engaging it waits for a batch in flight and the batch never lands after it."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT engaged FROM {KillSwitch._meta.db_table} WHERE id = 1"
                       + (" FOR SHARE" if lock else ""))
        row = cursor.fetchone()
    return bool(row and row[0])


# --- rules ------------------------------------------------------------------------------------------


def resolve_rules(products: list[tuple[int, int]]) -> dict[int, PricingRule]:
    """``{product_id: governing rule}`` for (product id, category id) pairs: the product's own rule, else
    the nearest rule up its category tree, else the global default. Disabled rules are returned too (the
    most specific rule wins, and a disabled one keeps its products out); ungoverned products are left out."""
    rules = list(PricingRule.objects.all())
    own = {rule.product_id: rule for rule in rules if rule.product_id}
    by_category = {rule.category_id: rule for rule in rules if rule.category_id}
    fallback = next((rule for rule in rules if not rule.product_id and not rule.category_id), None)
    parents = dict(Category.objects.values_list("pk", "parent_id")) if by_category else {}
    nearest: dict[int, PricingRule | None] = {}

    def category_rule(category_id: int) -> PricingRule | None:
        chain, node = [], category_id
        while node is not None and node not in nearest and node not in by_category and node not in chain:
            chain.append(node)
            node = parents.get(node)
        found = nearest[node] if node in nearest else by_category.get(node, fallback)
        for visited in chain:
            nearest[visited] = found
        return found

    governed = {}
    for product_id, category_id in products:
        rule = own.get(product_id) or category_rule(category_id)
        if rule is not None:
            governed[product_id] = rule
    return governed


def rule_for(product: Product) -> PricingRule | None:
    return resolve_rules([(product.pk, product.category_id)]).get(product.pk)


# --- guardrails -------------------------------------------------------------------------------------


def held_prices(since: dt.datetime, product_ids: list[int] | None = None
                ) -> dict[int, list[tuple[dt.datetime, Decimal]]]:
    """For each product (all, or ``product_ids``), (changed_at, price before the change) of its changes
    after ``since``: with the current price, every price it had since then."""
    held: dict[int, list] = {}
    rows = PriceHistory.objects.filter(changed_at__gt=since)
    if product_ids is not None:
        rows = rows.filter(product_id__in=product_ids)
    for product_id, changed_at, previous in rows.values_list("product_id", "changed_at", "previous_price"):
        held.setdefault(product_id, []).append((changed_at, previous))
    return held


def guardrail_range(lower: Decimal, upper: Decimal, held: list[Decimal], current: Decimal,
                    max_change_percent: Decimal) -> tuple[Decimal, Decimal]:
    """The prices allowed now: within the rule's [lower, upper] and within ``max_change_percent`` of
    every price in ``held`` (the prices of the current interval, the current one included)."""
    limit = max_change_percent / 100
    low = max(lower, ceil_cents(max(held) * (1 - limit)))
    high = min(upper, floor_cents(min(held) * (1 + limit)))
    if low <= high:
        return low, high
    # The bounds and the interval limit cannot both hold: stay put if the bounds allow, else the bounds win.
    pinned = min(max(current, lower), upper)
    return pinned, pinned


def history_hours(rule: PricingRule) -> int:
    """How far back the guardrails of ``rule`` look into the price history."""
    return max(rule.interval_hours, rule.min_hours_between_changes or 0)


def changed_too_recently(rule: PricingRule, history: list[tuple[dt.datetime, Decimal]], now: dt.datetime) -> bool:
    """Whether the product's last change is more recent than ``rule.min_hours_between_changes`` allows."""
    if not rule.min_hours_between_changes:
        return False
    since = now - dt.timedelta(hours=rule.min_hours_between_changes)
    return any(changed_at > since for changed_at, _ in history)


def allowed_now(rule: PricingRule, base_price: Decimal, current: Decimal, history: list[tuple[dt.datetime, Decimal]],
                now: dt.datetime) -> tuple[Decimal, Decimal] | None:
    """The guardrail range of one product under ``rule`` at ``now``; None when the rule's own bounds
    contradict each other for this base price (e.g. a minimum price above the maximum markup). Changed
    more recently than the rule's minimum time between changes, the price stays (unless out of bounds)."""
    lower, upper = rule.bounds_for(base_price)
    if lower > upper:
        return None
    if changed_too_recently(rule, history, now):
        pinned = min(max(current, lower), upper)
        return pinned, pinned
    window_start = now - dt.timedelta(hours=rule.interval_hours)
    held = [price for changed_at, price in history if changed_at > window_start] + [current]
    return guardrail_range(lower, upper, held, current, rule.max_change_percent)


def bound_by(rule: PricingRule, base_price: Decimal, current: Decimal, history: list[tuple[dt.datetime, Decimal]],
             now: dt.datetime, proposed: Decimal, decided: Decimal) -> str:
    """Which guardrail moved ``proposed`` to ``decided`` (a ``BoundBy`` value), for the audit trail: the
    rule's bounds first (they always win), then the minimum time between changes, else the interval limit."""
    if decided == proposed:
        return BoundBy.NONE
    lower, upper = rule.bounds_for(base_price)
    if decided == lower and proposed < lower:
        return BoundBy.FLOOR
    if decided == upper and proposed > upper:
        return BoundBy.CEILING
    if changed_too_recently(rule, history, now):
        return BoundBy.CHANGE_FREQUENCY
    return BoundBy.WINDOW_MOVE


# --- a product's price ------------------------------------------------------------------------------


def price_report(product_id: int, price_list: str = PriceList.CURRENT) -> dict | None:
    """What ``GET /api/v1/prices/{id}`` returns (``price``: what a shopper on ``price_list`` pays); None
    for a product that is unknown or not sold."""
    price = product_price(product_id)
    if price is None:
        return None
    last = PriceHistory.objects.filter(product_id=product_id).order_by("-changed_at", "-pk").first()
    shown = shown_price(price, price_list)
    return {
        "product_id": product_id,
        "currency": price.currency,
        "price": shown.price,
        "base_price": price.base_price,
        "reduced_from": shown.was,
        "reduction_percent": shown.discount_percent if shown.was else None,
        "price_disclosure": shown.disclosure or None,
        "last_change": None if last is None else {
            "previous_price": last.previous_price, "price": last.price, "changed_at": last.changed_at,
            "source": last.source, "reason": last.reason,
        },
    }


def price_history(product_id: int, *, limit: int = 200) -> list[PriceHistory]:
    """The product's latest ``limit`` price changes, oldest first (for the admin chart)."""
    latest = PriceHistory.objects.filter(product_id=product_id).select_related("changed_by").order_by(
        "-changed_at", "-pk")[:limit]
    return list(reversed(latest))
