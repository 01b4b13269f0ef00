"""The pricing engine, every 30 minutes (``run_pricing``): the demand signals of every active product are
recomputed in one SQL statement over the partitioned events; each product's governing ``PricingRule`` picks
a strategy (rule-based or the demand model); the proposal is clipped by the guardrails (``serving``); changes
within the rule's auto-approve band are applied through the catalogue, larger ones wait for an editor
(``review``). Write side: run by tasks, commands and the bench, never inside a request.
"""

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from ai.common import bulk_insert
from ai.pricing import demand_model
from ai.pricing.models import BoundBy, DemandSignal, PriceChange, PriceHistory, PricingRule, Strategy
from ai.pricing.prior_price import prior_prices_before
from ai.pricing.serving import (
    BATCH_SIZE,
    allowed_now,
    bound_by,
    held_prices,
    history_hours,
    kill_switch_engaged,
    resolve_rules,
)
from ai.pricing.training import latest_model
from commerce.catalogue.models import Product, ProductVariant
from commerce.catalogue.services import set_current_prices
from commerce.events.queries import product_demand_query

logger = logging.getLogger(__name__)

SIGNAL_INTERVAL = dt.timedelta(minutes=30)
# One engine run at a time across all workers (a PostgreSQL session lock: released if the worker dies).
RUN_LOCK_KEY = 0x70726963  # "pric"

# The rule-based strategy. Demand is above trend when the last day sold ≥ 1.25× the 7-day daily
# average, below it at ≤ 0.75×; a trend needs at least 3 units in those 7 days to mean anything.
RISE_RATIO, FALL_RATIO, MIN_TREND_UNITS = 1.25, 0.75, 3
SCARCE_DAYS, OVERSTOCK_DAYS = 7, 60  # days of stock at the expected pace
STEP_PERCENT = Decimal("5")  # one step per run; the guardrails cap what a run may do anyway


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
    signals = DemandSignal._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""WITH demand (product_id, views, adds, units_last_day, units_daily_average) AS ({demand_sql}),
                variant_stock AS (SELECT product_id, sum(stock) AS stock FROM {ProductVariant._meta.db_table}
                                  GROUP BY product_id),
                base AS (
                    SELECT p.id, coalesce(v.stock, p.stock) AS stock, coalesce(d.views, 0) AS views,
                           coalesce(d.adds, 0) AS adds, coalesce(d.units_last_day, 0)::float AS last_day,
                           coalesce(d.units_daily_average, 0) AS trend
                    FROM {Product._meta.db_table} p
                    LEFT JOIN demand d ON d.product_id = p.id
                    LEFT JOIN variant_stock v ON v.product_id = p.id
                    WHERE p.active)
                INSERT INTO {signals} AS s (product_id, as_of, views_per_hour, add_to_cart_rate,
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
        cursor.execute(f"DELETE FROM {signals} WHERE as_of <> %s", [as_of])
    return written


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
    longest = max((history_hours(rule) for rule in rules.values()), default=0)
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
        _write_decisions(decisions, history, pending, as_of, now, summary)
    return True


def _write_decisions(decisions: list[_Decision], history, pending: dict[int, Decimal], as_of, now,
                     summary: Counter) -> None:
    automatic, waiting, superseded = {}, [], []
    for decision in decisions:
        rule, current = decision.rule, decision.current
        new = min(max(decision.proposal.price, decision.low), decision.high)
        bound = bound_by(rule, decision.base, current, history.get(decision.product_id, []), now,
                         decision.proposal.price, new)
        reason = decision.proposal.reason
        if new != decision.proposal.price:
            reason += f"; the guardrails allow {_money(decision.low)}–{_money(decision.high)}"
        if new == current:
            summary["held"] += 1
            summary["held_by_change_frequency"] += bound == BoundBy.CHANGE_FREQUENCY
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
                  "new_price": new, "bound_by": bound, "reason": reason, "status": PriceChange.Status.PENDING,
                  "created_at": now, "decided_at": None}
        if out_of_bounds or abs(new - current) <= current * rule.auto_approve_percent / 100:
            automatic[decision.product_id] = {**change, "status": PriceChange.Status.APPLIED, "decided_at": now}
        else:
            waiting.append(change)
    moves = {pid: (c["previous_price"], c["new_price"]) for pid, c in automatic.items()}
    moved = set_current_prices(moves, prior_prices_before({pid: old for pid, (old, _) in moves.items()}, now))
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


