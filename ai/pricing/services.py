"""Dynamic pricing: demand signals, the engine inside editor-set guardrails, approvals and the kill switch.

Every 30 minutes (``run_pricing``): the demand signals of every active product are recomputed in one
SQL statement over the partitioned events; each product's governing ``PricingRule`` picks a
strategy (rule-based or the demand model); the proposal is clipped by the guardrails; changes within
the rule's auto-approve band are applied through the catalogue, larger ones wait for an editor.

Guardrails, for a product whose rule allows [lower, upper] and at most x % per interval I: the new
price p must lie in [lower, upper] and within x % of every price q the product had during the last I
(q·(1 − x) ≤ p ≤ q·(1 + x)). So over any span of one interval the price never moves more than x %
from where it was at the start of that span. Where the rule's bounds and the interval limit cannot
both hold (an editor moved the bounds), the bounds win. Only the kill switch, a rule's bounds and an
editor editing the product move a price outside the interval limit.
"""

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone

from ai.common import bulk_insert
from ai.pricing import demand_model
from ai.pricing.models import (
    DemandModel,
    DemandSignal,
    KillSwitch,
    PriceChange,
    PriceHistory,
    PricingRule,
    Strategy,
    ceil_cents,
    floor_cents,
)
from commerce.catalogue.models import Category, PriceList, Product
from commerce.catalogue.services import product_price, restore_base_prices, set_current_prices, unit_price
from commerce.events.services import product_demand_query

logger = logging.getLogger(__name__)

SIGNAL_INTERVAL = dt.timedelta(minutes=30)
# Measured (bench/pricing.py, 100k products): a batch of 5,000 products is decided and written in
# ≈ 0.3 s, one short transaction each, so approvals and the kill switch never wait long behind a run.
BATCH_SIZE = 5000
# One engine run at a time across all workers (a PostgreSQL session lock: released if the worker dies).
RUN_LOCK_KEY = 0x70726963  # "pric"

# The rule-based strategy. Demand is above trend when the last day sold ≥ 1.25× the 7-day daily
# average, below it at ≤ 0.75×; a trend needs at least 3 units in those 7 days to mean anything.
RISE_RATIO, FALL_RATIO, MIN_TREND_UNITS = 1.25, 0.75, 3
SCARCE_DAYS, OVERSTOCK_DAYS = 7, 60  # days of stock at the expected pace
STEP_PERCENT = Decimal("5")  # one step per run; the guardrails cap what a run may do anyway

TRAINING_DAYS = 90
KEEP_MODELS = 3

APPROVE_PERMISSION = "pricing.approve_pricechange"
KILL_SWITCH_PERMISSION = "pricing.change_killswitch"


class PricingStopped(Exception):
    """The kill switch is engaged: no price moves except back to base."""


@dataclass(frozen=True)
class Signals:
    views_per_hour: float
    add_to_cart_rate: float | None
    units_last_day: float
    units_daily_average: float
    stock: int | None  # None: unknown (a data set without stock), so stock plays no part
    stock_cover_days: float | None

    @property
    def has_trend(self) -> bool:
        return self.units_daily_average * 7 >= MIN_TREND_UNITS


@dataclass(frozen=True)
class Proposal:
    price: Decimal
    reason: str
    expected_revenue_gain: float | None = None  # the demand model's, when it moves the price


def _money(value) -> str:
    return f"{value:.2f}"


# --- demand signals -------------------------------------------------------------------------------


def signal_time(now: dt.datetime | None = None) -> dt.datetime:
    """The start of the current 30-minute slot: the "as of" every run in that slot computes for, so a
    repeated or duplicated run computes the same signals and decides nothing twice."""
    now = now or timezone.now()
    slot = SIGNAL_INTERVAL.total_seconds()
    return dt.datetime.fromtimestamp(now.timestamp() // slot * slot, tz=dt.UTC)


def compute_demand_signals(as_of: dt.datetime) -> int:
    """Every active product's demand as of ``as_of``, in one statement: one scan of the events of the
    8 days before (pruned to their partitions), joined to the catalogue and upserted. Returns the rows."""
    demand_sql, demand_params = product_demand_query(as_of)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""WITH demand (product_id, views, adds, units_last_day, units_daily_average) AS ({demand_sql}),
                variant_stock AS (SELECT product_id, sum(stock) AS stock FROM catalogue_productvariant
                                  GROUP BY product_id),
                base AS (
                    SELECT p.id, coalesce(v.stock, p.stock) AS stock, coalesce(d.views, 0) AS views,
                           coalesce(d.adds, 0) AS adds, coalesce(d.units_last_day, 0)::float AS last_day,
                           coalesce(d.units_daily_average, 0) AS trend
                    FROM catalogue_product p
                    LEFT JOIN demand d ON d.product_id = p.id
                    LEFT JOIN variant_stock v ON v.product_id = p.id
                    WHERE p.active)
                INSERT INTO pricing_demandsignal AS s (product_id, as_of, views_per_hour, add_to_cart_rate,
                    units_last_day, units_daily_average, stock, stock_cover_days)
                SELECT id, %s, views / 24.0, CASE WHEN views > 0 THEN adds::float / views END, last_day, trend,
                       stock, CASE WHEN greatest(last_day, trend) > 0 THEN stock / greatest(last_day, trend) END
                FROM base
                ON CONFLICT (product_id) DO UPDATE SET
                    as_of = EXCLUDED.as_of, views_per_hour = EXCLUDED.views_per_hour,
                    add_to_cart_rate = EXCLUDED.add_to_cart_rate, units_last_day = EXCLUDED.units_last_day,
                    units_daily_average = EXCLUDED.units_daily_average, stock = EXCLUDED.stock,
                    stock_cover_days = EXCLUDED.stock_cover_days""",
            [*demand_params, as_of],
        )
        written = cursor.rowcount
        # Products no longer active (or gone) keep no stale signal.
        cursor.execute("DELETE FROM pricing_demandsignal WHERE as_of <> %s", [as_of])
    return written


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


def allowed_now(rule: PricingRule, base_price: Decimal, current: Decimal, history: list[tuple[dt.datetime, Decimal]],
                now: dt.datetime) -> tuple[Decimal, Decimal] | None:
    """The guardrail range of one product under ``rule`` at ``now``; None when the rule's own bounds
    contradict each other for this base price (e.g. a minimum price above the maximum markup)."""
    lower, upper = rule.bounds_for(base_price)
    if lower > upper:
        return None
    window_start = now - dt.timedelta(hours=rule.interval_hours)
    held = [price for changed_at, price in history if changed_at > window_start] + [current]
    return guardrail_range(lower, upper, held, current, rule.max_change_percent)


# --- strategies -------------------------------------------------------------------------------------


def rule_based_proposal(signals: Signals, current: Decimal) -> Proposal:
    """Raise one step on demand above trend or scarce stock, lower one step on demand below trend or
    overstock, hold when nothing (or everything at once) says so. The reason names the evidence."""
    up, down = [], []
    trend = signals.units_daily_average
    if signals.has_trend and signals.units_last_day >= RISE_RATIO * trend:
        up.append(f"sold {signals.units_last_day:g} in the last day vs {trend:.1f}/day trend")
    elif not signals.has_trend and signals.units_last_day >= MIN_TREND_UNITS:
        up.append(f"sold {signals.units_last_day:g} in the last day after a quiet week")
    elif signals.has_trend and signals.units_last_day <= FALL_RATIO * trend:
        down.append(f"sold {signals.units_last_day:g} in the last day vs {trend:.1f}/day trend")
    if signals.stock is not None and signals.stock > 0:
        cover = signals.stock_cover_days
        if cover is not None and cover < SCARCE_DAYS:
            up.append(f"{signals.stock} in stock, {cover:.1f} days at the current pace")
        elif (cover is None and signals.views_per_hour > 0) or (cover is not None and cover > OVERSTOCK_DAYS):
            days = "no sales in 8 days" if cover is None else f"{cover:.0f} days at the current pace"
            down.append(f"{signals.stock} in stock, {days}")
    if not up and not down:
        quiet = signals.views_per_hour == 0 and not signals.has_trend and signals.units_last_day == 0
        return Proposal(current, "hold: no demand data" if quiet else "hold: demand on trend, stock in balance")
    if len(up) == len(down):
        return Proposal(current, "hold: signals conflict (" + "; ".join(up + down) + ")")
    step = STEP_PERCENT / 100
    if len(up) > len(down):
        return Proposal((current * (1 + step)).quantize(Decimal("0.01")), f"raise {STEP_PERCENT}%: " + "; ".join(up))
    return Proposal((current * (1 - step)).quantize(Decimal("0.01")), f"lower {STEP_PERCENT}%: " + "; ".join(down))


def model_proposals(model: demand_model.TrainedModel, items: list[tuple[Signals, Decimal, Decimal, Decimal, Decimal]]
                    ) -> list[Proposal]:
    """Revenue-maximising prices for (signals, current, base, lowest allowed, highest allowed) items."""
    signals = np.array([[s.views_per_hour, s.add_to_cart_rate or 0.0, s.units_last_day, s.units_daily_average]
                        for s, *_ in items], dtype=float)
    current, base, low, high = (np.array([float(item[i]) for item in items]) for i in range(1, 5))
    proposals = []
    choices = demand_model.revenue_maximising_prices(model, signals, current, base, low, high)
    for (_, price, *_), choice in zip(items, choices, strict=True):
        if choice is None:
            proposals.append(Proposal(price, "hold: demand model has not seen prices in the allowed range"))
        elif choice.expected_revenue <= choice.current_revenue * (1 + demand_model.MIN_REVENUE_GAIN):
            proposals.append(Proposal(price, f"hold: demand model expects no better revenue than "
                                             f"{choice.current_revenue:.2f}/day at {_money(price)}"))
        else:
            proposals.append(Proposal(Decimal(f"{choice.price:.2f}"),
                                      f"demand model: expected revenue {choice.expected_revenue:.2f}/day at "
                                      f"{choice.price:.2f} vs {choice.current_revenue:.2f}/day at {_money(price)}",
                                      choice.expected_revenue / choice.current_revenue - 1
                                      if choice.current_revenue > 0 else None))
    return proposals


# --- the engine ---------------------------------------------------------------------------------------


@dataclass
class _Decision:
    product_id: int
    rule: PricingRule
    current: Decimal
    base: Decimal
    signals: Signals
    low: Decimal | None = None
    high: Decimal | None = None
    proposal: Proposal | None = None


def kill_switch_engaged(*, lock: bool = False) -> bool:
    """Whether dynamic pricing is stopped. With ``lock``, holds a share lock on the switch until the
    transaction ends, so engaging it waits for a batch in flight and the batch never lands after it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT engaged FROM pricing_killswitch WHERE id = 1" + (" FOR SHARE" if lock else ""))
        row = cursor.fetchone()
    return bool(row and row[0])


def run_pricing(now: dt.datetime | None = None) -> dict:
    """The 30-minute run: demand signals as of the current slot, then prices (unless stopped)."""
    now = now or timezone.now()
    as_of = signal_time(now)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [RUN_LOCK_KEY])
        if not cursor.fetchone()[0]:
            return {"skipped": "another pricing run is in progress"}
    try:
        summary = {"as_of": as_of.isoformat(), "signals": compute_demand_signals(as_of)}
        summary.update(price_products(as_of, now=now))
        return summary
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [RUN_LOCK_KEY])


def price_products(as_of: dt.datetime, *, now: dt.datetime | None = None) -> dict:
    """Decide a price for every product with signals as of ``as_of`` (not yet decided for it)."""
    now = now or timezone.now()
    if kill_switch_engaged():
        return {"stopped": True}
    rows = DemandSignal.objects.filter(as_of=as_of)
    decided = set(PriceChange.objects.filter(signal_at=as_of).values_list("product_id", flat=True))
    rows = [row for row in rows.order_by("product_id").values_list(
        "product_id", "product__category_id", "product__price", "product__base_price", "views_per_hour",
        "add_to_cart_rate", "units_last_day", "units_daily_average", "stock", "stock_cover_days",
    ) if row[0] not in decided]
    rules = resolve_rules([(row[0], row[1]) for row in rows])
    model = latest_model() if any(rule.strategy == Strategy.MODEL for rule in rules.values()) else None
    # Read once for the run (each is one indexed query, cheaper than an IN list of 5,000 ids per batch);
    # batches own disjoint products, and the compare-and-set write guards against anyone else.
    longest = max((rule.interval_hours for rule in rules.values()), default=0)
    history = held_prices(now - dt.timedelta(hours=longest))
    pending = dict(PriceChange.objects.filter(status=PriceChange.Status.PENDING).values_list("product_id",
                                                                                            "new_price"))
    summary = Counter(products=len(rows), already_decided=len(decided))
    for start in range(0, len(rows), BATCH_SIZE):
        batch = rows[start:start + BATCH_SIZE]
        if not _price_batch(batch, rules, model, history, pending, as_of, now, summary):
            summary["stopped"] = True
            break
    return dict(summary)


def _price_batch(rows, rules, model, history, pending, as_of, now, summary: Counter) -> bool:
    decisions: list[_Decision] = []
    for product_id, _, current, base, *signal_values in rows:
        rule = rules.get(product_id)
        if rule is None or not rule.enabled:
            summary["not_governed"] += 1
            continue
        decisions.append(_Decision(product_id, rule, current, base, Signals(*signal_values)))
    if not decisions:
        return True
    for decision in decisions:
        allowed = allowed_now(decision.rule, decision.base, decision.current, history.get(decision.product_id, []),
                              now)
        if allowed is None:
            summary["contradictory_bounds"] += 1
            logger.warning("pricing rule %s allows no price for product %s (base %s)", decision.rule.pk,
                           decision.product_id, decision.base)
        else:
            decision.low, decision.high = allowed
    decisions = [d for d in decisions if d.low is not None]
    modelled = [d for d in decisions if d.rule.strategy == Strategy.MODEL and model is not None]
    if modelled:
        items = [(d.signals, d.current, d.base, d.low, d.high) for d in modelled]
        for decision, proposal in zip(modelled, model_proposals(model, items), strict=True):
            decision.proposal = proposal
    for decision in decisions:
        if decision.proposal is None:
            proposal = rule_based_proposal(decision.signals, decision.current)
            if decision.rule.strategy == Strategy.MODEL:
                proposal = Proposal(proposal.price, "no demand model trained yet, rule-based: " + proposal.reason)
            decision.proposal = proposal
    with transaction.atomic():
        if kill_switch_engaged(lock=True):
            return False
        _write_decisions(decisions, pending, as_of, now, summary)
    return True


def _write_decisions(decisions: list[_Decision], pending: dict[int, Decimal], as_of, now, summary: Counter) -> None:
    automatic, waiting, superseded = {}, [], []
    for decision in decisions:
        rule, current = decision.rule, decision.current
        new = min(max(decision.proposal.price, decision.low), decision.high)
        reason = decision.proposal.reason
        if new != decision.proposal.price:
            reason += f"; the guardrails allow {_money(decision.low)}–{_money(decision.high)}"
        if new == current:
            summary["held"] += 1
            if decision.product_id in pending:
                superseded.append(decision.product_id)
            continue
        if pending.get(decision.product_id) == new:
            summary["still_pending"] += 1
            continue
        lower, upper = rule.bounds_for(decision.base)
        out_of_bounds = not lower <= current <= upper
        if out_of_bounds:
            reason = f"outside its rule's bounds {_money(lower)}–{_money(upper)}"
        change = {"product_id": decision.product_id, "rule_id": rule.pk, "signal_at": as_of,
                  "strategy": rule.strategy, "previous_price": current, "proposed_price": decision.proposal.price,
                  "new_price": new, "reason": reason, "status": PriceChange.Status.PENDING, "created_at": now,
                  "decided_at": None}
        if out_of_bounds or abs(new - current) <= current * rule.auto_approve_percent / 100:
            automatic[decision.product_id] = {**change, "status": PriceChange.Status.APPLIED, "decided_at": now}
        else:
            waiting.append(change)
    moved = set_current_prices({pid: (c["previous_price"], c["new_price"]) for pid, c in automatic.items()})
    summary["raced"] += len(automatic) - len(moved)  # an editor changed the price meanwhile: next run decides
    applied = [change for pid, change in automatic.items() if pid in moved]
    superseded += [change["product_id"] for change in applied + waiting if change["product_id"] in pending]
    PriceChange.objects.filter(product_id__in=superseded, status=PriceChange.Status.PENDING).update(
        status=PriceChange.Status.SUPERSEDED, decided_at=now)
    change_ids = dict(bulk_insert(PriceChange, applied + waiting, returning=("product_id", "id")))
    bulk_insert(PriceHistory, [
        {"product_id": c["product_id"], "previous_price": c["previous_price"], "price": c["new_price"],
         "changed_at": now, "source": PriceHistory.Source.AUTOMATIC, "reason": c["reason"],
         "change_id": change_ids[c["product_id"]], "changed_by_id": None}
        for c in applied
    ])
    summary["applied"] += len(applied)
    summary["pending"] += len(waiting)


# --- approvals -----------------------------------------------------------------------------------------


def _require(user, permission: str) -> None:
    if user is None or not user.has_perm(permission):
        raise PermissionDenied(f"Only users with the {permission} permission may do this.")


@dataclass(frozen=True)
class ApprovalOutcome:
    applied: int
    expired: int


@transaction.atomic
def approve_changes(change_ids, user, *, now: dt.datetime | None = None) -> ApprovalOutcome:
    """Apply pending changes an editor approved, each only if it still fits: the product still has the
    price it was proposed from and the new price is inside the guardrails as they are now. Those that
    no longer fit are marked expired (the next run proposes afresh)."""
    _require(user, APPROVE_PERMISSION)
    if kill_switch_engaged(lock=True):
        raise PricingStopped("Dynamic pricing is stopped: no change can be approved until it is resumed.")
    now = now or timezone.now()
    changes = list(PriceChange.objects.select_for_update(of=("self",)).select_related("product")
                   .filter(pk__in=change_ids, status=PriceChange.Status.PENDING).order_by("product_id"))
    rules = resolve_rules([(c.product_id, c.product.category_id) for c in changes])
    longest = max((rule.interval_hours for rule in rules.values()), default=0)
    history = held_prices(now - dt.timedelta(hours=longest), [c.product_id for c in changes])
    fitting = []
    for change in changes:
        rule, product = rules.get(change.product_id), change.product
        allowed = (allowed_now(rule, product.base_price, product.price, history.get(product.pk, []), now)
                   if rule is not None and rule.enabled and product.price == change.previous_price else None)
        if allowed is not None and allowed[0] <= change.new_price <= allowed[1]:
            fitting.append(change)
    moved = set_current_prices({c.product_id: (c.previous_price, c.new_price) for c in fitting})
    applied = [c for c in fitting if c.product_id in moved]
    expired = [c.pk for c in changes if c.product_id not in moved]
    PriceChange.objects.filter(pk__in=[c.pk for c in applied]).update(
        status=PriceChange.Status.APPLIED, decided_at=now, decided_by=user)
    PriceChange.objects.filter(pk__in=expired).update(status=PriceChange.Status.EXPIRED, decided_at=now,
                                                      decided_by=user)
    PriceHistory.objects.bulk_create([
        PriceHistory(product_id=c.product_id, previous_price=c.previous_price, price=c.new_price, changed_at=now,
                     source=PriceHistory.Source.APPROVED, reason=c.reason, change=c, changed_by=user)
        for c in applied
    ])
    return ApprovalOutcome(applied=len(applied), expired=len(expired))


def record_manual_prices(changes: list[tuple[int, Decimal, Decimal]], *, reason: str) -> list[PriceHistory]:
    """Prices set outside the engine, ``(product_id, previous price, price)`` each (an editor on the
    product, code, a catalogue import): into the ledger, so the next run's guardrail window starts from
    them and the history shows them."""
    return PriceHistory.objects.bulk_create([
        PriceHistory(product_id=product_id, previous_price=previous, price=price,
                     source=PriceHistory.Source.MANUAL, reason=reason)
        for product_id, previous, price in changes])


@transaction.atomic
def reject_changes(change_ids, user, *, now: dt.datetime | None = None) -> int:
    _require(user, APPROVE_PERMISSION)
    return PriceChange.objects.filter(pk__in=change_ids, status=PriceChange.Status.PENDING).update(
        status=PriceChange.Status.REJECTED, decided_at=now or timezone.now(), decided_by=user)


# --- a rule's bounds ---------------------------------------------------------------------------------------


def _bounds_reason(rule: PricingRule, old: Decimal, new: Decimal) -> str:
    return f"rule “{rule.name}” allows {_money(new)} at {'most' if new < old else 'least'}"


def enforce_rule_bounds(rule: PricingRule, *, now: dt.datetime | None = None) -> int:
    """Move every product this rule governs that sells outside its bounds to the nearest bound, at once
    (the editor who set the bounds approved them). Returns the prices moved."""
    if not rule.enabled or kill_switch_engaged():
        return 0
    now = now or timezone.now()
    products = Product.objects.all()
    if rule.product_id:
        products = products.filter(pk=rule.product_id)
    elif rule.category_id:
        products = products.in_category(rule.category)
    rows = list(products.order_by("pk").values_list("pk", "category_id", "price", "base_price"))
    governed = resolve_rules([(pk, category_id) for pk, category_id, *_ in rows])
    moves = {}
    for pk, _, price, base in rows:
        if governed.get(pk) is None or governed[pk].pk != rule.pk:
            continue
        lower, upper = rule.bounds_for(base)
        if lower <= upper and not lower <= price <= upper:
            moves[pk] = (price, min(max(price, lower), upper))
    moved_total = 0
    ids = list(moves)
    for start in range(0, len(ids), BATCH_SIZE):
        batch = {pk: moves[pk] for pk in ids[start:start + BATCH_SIZE]}
        with transaction.atomic():
            if kill_switch_engaged(lock=True):
                break
            moved = set_current_prices(batch)
            bulk_insert(PriceHistory, [
                {"product_id": pk, "previous_price": batch[pk][0], "price": batch[pk][1], "changed_at": now,
                 "source": PriceHistory.Source.RULE_BOUNDS, "reason": _bounds_reason(rule, *batch[pk]),
                 "change_id": None, "changed_by_id": None}
                for pk in moved
            ])
        moved_total += len(moved)
    return moved_total


# --- the kill switch ------------------------------------------------------------------------------------


@transaction.atomic
def engage_kill_switch(user, *, now: dt.datetime | None = None) -> int:
    """Stop dynamic pricing: every product back to its base price in one statement, pending changes
    cancelled, the engine idle until ``release_kill_switch``. Returns the prices moved."""
    _require(user, KILL_SWITCH_PERMISSION)
    now = now or timezone.now()
    KillSwitch.objects.update_or_create(pk=1, defaults={"engaged": True, "changed_at": now, "changed_by": user})
    moved = restore_base_prices()
    bulk_insert(PriceHistory, [
        {"product_id": pk, "previous_price": old, "price": base, "changed_at": now,
         "source": PriceHistory.Source.KILL_SWITCH, "reason": "dynamic pricing stopped", "change_id": None,
         "changed_by_id": user.pk}
        for pk, old, base in moved
    ])
    PriceChange.objects.filter(status=PriceChange.Status.PENDING).update(
        status=PriceChange.Status.CANCELLED, decided_at=now, decided_by=user)
    logger.warning("dynamic pricing stopped by %s: %d prices back to base", user, len(moved))
    return len(moved)


@transaction.atomic
def release_kill_switch(user, *, now: dt.datetime | None = None) -> None:
    """Resume dynamic pricing; prices start from base and move at the next run, inside the guardrails."""
    _require(user, KILL_SWITCH_PERMISSION)
    KillSwitch.objects.update_or_create(pk=1, defaults={"engaged": False, "changed_at": now or timezone.now(),
                                                        "changed_by": user})
    logger.warning("dynamic pricing resumed by %s", user)


# --- the demand model -------------------------------------------------------------------------------------


def shop_panel(now: dt.datetime, days: int = TRAINING_DAYS) -> demand_model.Panel:
    """The shop's daily history over the last ``days`` full days, from the events: views and their
    prices (the price shown), add-to-carts and units bought per product and day."""
    end = now.replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - dt.timedelta(days=days)
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT product_id, floor(extract(epoch FROM created_at - %s) / 86400)::int AS day,
                      count(*) FILTER (WHERE event_type = 'view'),
                      count(*) FILTER (WHERE event_type = 'add_to_cart'),
                      coalesce(sum(quantity) FILTER (WHERE event_type = 'purchase'), 0),
                      coalesce(avg(price) FILTER (WHERE event_type = 'view'),
                               avg(price) FILTER (WHERE event_type = 'purchase'))::float
               FROM events_customerevent
               WHERE created_at >= %s AND created_at < %s AND product_id IS NOT NULL
                 AND event_type IN ('view', 'add_to_cart', 'purchase')
               GROUP BY 1, 2 ORDER BY 1, 2""",
            [start, start, end],
        )
        rows = cursor.fetchall()
    by_product: dict[int, list] = {}
    for product_id, *day in rows:
        by_product.setdefault(product_id, []).append(day)
    histories = {pid: demand_model.product_days(days_of, days_of[0][0], days - 1)
                 for pid, days_of in by_product.items()}
    bases = dict(Product.objects.filter(pk__in=list(histories)).values_list("pk", "base_price"))
    return demand_model.build_panel(histories, {pk: float(base) for pk, base in bases.items()})


def train_demand_model(now: dt.datetime | None = None) -> DemandModel | None:
    """Train on the last 90 days once there is enough history (with prices that varied); keep the newest few."""
    panel = shop_panel(now or timezone.now())
    ready, why = demand_model.enough_history(panel)
    if not ready:
        logger.info("demand model not trained: %s", why)
        return None
    trained = demand_model.train(panel)
    stored = store_demand_model(trained, training_rows=len(panel.units))
    logger.info("demand model trained on %s: %s", why, trained.metrics)
    return stored


def store_demand_model(trained: demand_model.TrainedModel, *, training_rows: int) -> DemandModel:
    """Keep a trained model as the current one (and only the newest ``KEEP_MODELS``)."""
    stored = DemandModel.objects.create(training_rows=training_rows, price_ratio_low=trained.price_ratio_low,
                                        price_ratio_high=trained.price_ratio_high, metrics=trained.metrics,
                                        estimator=trained.serialise())
    keep = DemandModel.objects.order_by("-trained_at").values_list("pk", flat=True)[:KEEP_MODELS]
    DemandModel.objects.exclude(pk__in=list(keep)).delete()
    return stored


def latest_model() -> demand_model.TrainedModel | None:
    stored = DemandModel.objects.first()
    return demand_model.TrainedModel.from_stored(stored) if stored else None


# --- reads --------------------------------------------------------------------------------------------------


def price_report(product_id: int, price_list: str = PriceList.CURRENT) -> dict | None:
    """What ``GET /api/v1/prices/{id}`` returns (``price``: what a shopper on ``price_list`` pays); None
    for a product that is unknown or not sold."""
    price = product_price(product_id)
    if price is None:
        return None
    last = PriceHistory.objects.filter(product_id=product_id).order_by("-changed_at", "-pk").first()
    return {
        "product_id": product_id,
        "currency": price.currency,
        "price": unit_price(price, None, price_list),
        "base_price": price.base_price,
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
