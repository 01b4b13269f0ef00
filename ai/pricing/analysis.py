"""What the demand signals and the demand model make of a real retailer's history (``analyse_pricing``).

Input: a CSV of purchases with ``user_id,item_id,timestamp,event_type,quantity,price,description``
(e.g. the UCI Online Retail data: a year of a UK gift wholesaler's invoice lines). It has no views or
stock, so those signals are absent and the model learns from price and recent sales alone.

1. Signals: the 30-minute signals' definitions (units in the last 24 h vs the daily average of the 7
   days before) computed from the file, and — optionally, in a scratch database — by the very SQL the
   engine runs (``compute_demand_signals``), compared product by product; then whether "above trend"
   and "below trend" actually precede more or fewer sales.
2. The model: trained on the first 75 % of trading days, scored on the rest against the trend
   baseline; its price sensitivity as partial dependence and arc elasticity, beside a naive log-log
   within-product estimate.
3. Proposals: both strategies replayed day by day over the held-out days under a default rule
   (±20 % of the reference price, at most 10 % a day), with the demand the shop really saw (a
   replay cannot know how shoppers would have answered other prices).
"""

import csv
import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from statistics import median

import numpy as np

from ai.common import scratch_database
from ai.pricing import demand_model
from ai.pricing.models import DemandSignal, ceil_cents, floor_cents
from ai.pricing.pipeline import (
    FALL_RATIO,
    MIN_TREND_UNITS,
    RISE_RATIO,
    Signals,
    compute_demand_signals,
    model_proposals,
    rule_based_proposal,
)
from ai.pricing.serving import guardrail_range
from commerce.catalogue.models import Category, Product
from commerce.events.services import store_events

# A day's price from its invoice lines. "highest": the list price, as lower prices the same day are
# quantity tiers (a wholesaler's bulk discounts); "median": the typical line. Both are confounded on
# days only bulk buyers bought; docs/pricing.md reports the model under each.
DAY_PRICES = {"highest": max, "median": median}
MIN_REFERENCE_PRICE = 0.01  # items sold for fractions of a penny (packaging, samples) cannot be priced in cents
REPLAY_RULE = {"max_discount": Decimal("0.20"), "max_markup": Decimal("0.20"), "max_change": Decimal("10")}
CURVE_RATIOS = (0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3)


@dataclass
class RetailHistory:
    """The file as the analysis needs it: per item, units and price per trading day."""

    trading_days: list[dt.date]
    histories: dict[int, demand_model.ProductDays]
    reference_prices: dict[int, float]
    item_codes: list[str]
    purchases: list[tuple[int, dt.datetime, int, float]] = field(repr=False)  # (item, time, quantity, price)


def load_purchases(path, *, day_price: str = "highest", progress=None) -> RetailHistory:
    """Read the CSV: purchases with a positive quantity and price. Days are trading days (the shop's
    closed days, e.g. Saturdays, are not "no demand"), so "the last day" is the previous trading day."""
    price_of_day = DAY_PRICES[day_price]
    codes: dict[str, int] = {}
    purchases = []
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            if progress:
                progress(1)
            if row["event_type"] != "purchase":
                continue
            quantity, price = int(float(row["quantity"])), float(row["price"])
            if quantity <= 0 or price <= 0:
                continue
            item = codes.setdefault(row["item_id"], len(codes))
            purchases.append((item, dt.datetime.fromisoformat(row["timestamp"]).replace(tzinfo=dt.UTC), quantity,
                              price))
    trading_days = sorted({moment.date() for _, moment, _, _ in purchases})
    day_index = {day: i for i, day in enumerate(trading_days)}
    units: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    prices: dict[int, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for item, moment, quantity, price in purchases:
        day = day_index[moment.date()]
        units[item][day] += quantity
        prices[item][day].append(price)
    histories, references = {}, {}
    for item, by_day in units.items():
        rows = [(day, 0, 0, by_day[day], price_of_day(prices[item][day])) for day in sorted(by_day)]
        reference = median(row[4] for row in rows)
        if reference >= MIN_REFERENCE_PRICE:
            histories[item] = demand_model.product_days(rows, rows[0][0], rows[-1][0])
            references[item] = reference
    return RetailHistory(trading_days, histories, references, list(codes), purchases)


# --- 1. signals -------------------------------------------------------------------------------------


def signals_from_file(data: RetailHistory, as_of: dt.datetime) -> dict[int, tuple[float, float]]:
    """(units in the last 24 h, daily average of the 7 days before) per item, as the SQL defines them."""
    day_ago, week_before = as_of - dt.timedelta(days=1), as_of - dt.timedelta(days=8)
    figures: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for item, moment, quantity, _ in data.purchases:
        if day_ago <= moment < as_of:
            figures[item][0] += quantity
        elif week_before <= moment < day_ago:
            figures[item][1] += quantity
    return {item: (last_day, week / 7) for item, (last_day, week) in figures.items()}


def signal_outcomes(panel: demand_model.Panel, horizon: int = 5) -> dict:
    """Group product-days by what the rule-based signals said and compare the sales that followed:
    mean units per day over the next ``horizon`` trading days ÷ the trend the signal compared with."""
    last_day = panel.features[:, demand_model.FEATURES.index("units_last_day")]
    trend = panel.features[:, demand_model.FEATURES.index("units_daily_average")]
    future = _future_units(panel, horizon)
    has_trend = trend * 7 >= MIN_TREND_UNITS
    groups = {
        f"above trend (last day ≥ {RISE_RATIO}× trend)": has_trend & (last_day >= RISE_RATIO * trend),
        "on trend": has_trend & (last_day > FALL_RATIO * trend) & (last_day < RISE_RATIO * trend),
        f"below trend (last day ≤ {FALL_RATIO}× trend)": has_trend & (last_day <= FALL_RATIO * trend),
    }
    usable = ~np.isnan(future)
    report = {}
    for label, mask in groups.items():
        rows = mask & usable
        if rows.any():
            report[label] = {"product_days": int(rows.sum()),
                             "share": round(float(rows.sum() / (has_trend & usable).sum()), 3),
                             f"next_{horizon}_days_units_per_day_vs_trend":
                                 round(float(future[rows].mean() / trend[rows].mean()), 3)}
    return report


def _future_units(panel: demand_model.Panel, horizon: int) -> np.ndarray:
    """Mean units per day of the next ``horizon`` rows of the same product (NaN where fewer remain)."""
    future = np.full(len(panel.units), np.nan)
    boundaries = np.flatnonzero(np.diff(panel.product_ids)) + 1
    for start, end in zip(np.r_[0, boundaries], np.r_[boundaries, len(panel.units)], strict=True):
        units = panel.units[start:end]
        cumulative = np.r_[0.0, np.cumsum(units)]
        count = len(units) - horizon
        if count > 0:
            future[start:start + count] = (cumulative[horizon:horizon + count] - cumulative[:count]) / horizon
    return future


# --- 2. the model ---------------------------------------------------------------------------------------


def within_product_elasticity(panel: demand_model.Panel) -> dict:
    """Naive benchmark: OLS slope of log units on log price ratio on days with sales, each product
    demeaned (so it compares a product with itself at other prices)."""
    sold = panel.units > 0
    ids, log_q, log_p = panel.product_ids[sold], np.log(panel.units[sold]), np.log(panel.features[sold, 0])
    order = np.argsort(ids, kind="stable")
    ids, log_q, log_p = ids[order], log_q[order], log_p[order]
    starts = np.r_[0, np.flatnonzero(np.diff(ids)) + 1]
    counts = np.diff(np.r_[starts, len(ids)])
    log_q = log_q - np.repeat(np.add.reduceat(log_q, starts) / counts, counts)
    log_p = log_p - np.repeat(np.add.reduceat(log_p, starts) / counts, counts)
    varied = np.abs(log_p) > 1e-9
    slope = float((log_p * log_q).sum() / (log_p ** 2).sum())
    return {"elasticity": round(slope, 3), "product_days_with_sales": int(sold.sum()),
            "of_which_away_from_product_mean_price": int(varied.sum())}


def model_report(model: demand_model.TrainedModel, test: demand_model.Panel, references: np.ndarray) -> dict:
    trend = test.features[:, demand_model.FEATURES.index("units_daily_average")]
    predicted = model.estimator.predict(test.features)
    curve = demand_model.demand_curve(model, test.features, CURVE_RATIOS)
    bands = {"reference < £1": references < 1, "£1–£3": (references >= 1) & (references < 3),
             "≥ £3": references >= 3}
    by_band = {}
    for label, mask in bands.items():
        if mask.sum() >= 100:
            by_band[label] = {"product_days": int(mask.sum()),
                              "arc_elasticity_0.9_1.1": round(demand_model.arc_elasticity(model,
                                                                                        test.features[mask]), 3)}
    return {
        "test_product_days": int(len(test.units)),
        "poisson_deviance": {"model": round(demand_model.poisson_deviance(test.units, predicted), 4),
                             "trend_baseline": round(demand_model.poisson_deviance(test.units,
                                                                                   np.maximum(trend, 1e-3)), 4)},
        "mae_units": {"model": round(float(np.mean(np.abs(test.units - predicted))), 4),
                      "trend_baseline": round(float(np.mean(np.abs(test.units - trend))), 4)},
        "trusted_price_ratios": [round(model.price_ratio_low, 3), round(model.price_ratio_high, 3)],
        "demand_curve_mean_units": {f"{ratio:.1f}": round(units, 4)
                                    for ratio, units in zip(CURVE_RATIOS, curve, strict=True)},
        "arc_elasticity_0.9_1.1": round(demand_model.arc_elasticity(model, test.features), 3),
        "arc_elasticity_by_reference_price": by_band,
    }


# --- 3. proposals replayed ---------------------------------------------------------------------------------


def replay(test: demand_model.Panel, references: dict[int, float], model: demand_model.TrainedModel | None,
           progress=None) -> dict:
    """Each product starts at its reference price on the first held-out day; every trading day the
    strategy proposes from that day's signals, the guardrails clip, and the price moves (as if approved)."""
    prices = {int(pid): Decimal(f"{references[int(pid)]:.2f}") for pid in np.unique(test.product_ids)}
    moves, expected_gains = defaultdict(int), []
    days = np.unique(test.days)
    for day in days:
        items, products = [], []
        for row in np.flatnonzero(test.days == day):
            pid = int(test.product_ids[row])
            reference = Decimal(f"{references[pid]:.2f}")
            lower = ceil_cents(reference * (1 - REPLAY_RULE["max_discount"]))
            upper = floor_cents(reference * (1 + REPLAY_RULE["max_markup"]))
            low, high = guardrail_range(lower, upper, [prices[pid]], prices[pid], REPLAY_RULE["max_change"])
            views, add_rate, last_day, trend = (float(value) for value in test.features[row, 1:])
            items.append((Signals(views, add_rate, last_day, trend, None, None), prices[pid], reference, low, high))
            products.append(pid)
        proposals = (model_proposals(model, items) if model is not None
                     else [rule_based_proposal(signals, current) for signals, current, *_ in items])
        for pid, (_, current, _, low, high), proposal in zip(products, items, proposals, strict=True):
            new = min(max(proposal.price, low), high)
            moves["raise" if new > current else "lower" if new < current else "hold"] += 1
            if new != current and proposal.expected_revenue_gain is not None:
                expected_gains.append(proposal.expected_revenue_gain)
            prices[pid] = new
        if progress:
            progress(1)
    final = np.array([float(price) / references[pid] for pid, price in prices.items()])
    lowest, highest = 1 - float(REPLAY_RULE["max_discount"]), 1 + float(REPLAY_RULE["max_markup"])
    total = sum(moves.values())
    report = {
        "trading_days": len(days), "decisions": total,
        "share": {kind: round(moves[kind] / total, 3) for kind in ("raise", "lower", "hold")},
        "final_price_vs_reference": {"p10": round(float(np.percentile(final, 10)), 3),
                                     "median": round(float(np.median(final)), 3),
                                     "p90": round(float(np.percentile(final, 90)), 3),
                                     # at a bound, to within the cent rounding of the prices
                                     "share_at_lower_bound": round(float(np.mean(final <= lowest + 0.005)), 3),
                                     "share_at_upper_bound": round(float(np.mean(final >= highest - 0.005)), 3)},
    }
    if expected_gains:
        report["model_expected_revenue_gain_per_move"] = {"median": round(float(np.median(expected_gains)), 3),
                                                         "mean": round(float(np.mean(expected_gains)), 3)}
    return report


def actual_price_moves(panel: demand_model.Panel) -> dict:
    """How the retailer's own (median line) price moved from one trading day to the next."""
    same = np.r_[False, np.diff(panel.product_ids) == 0]
    change = np.r_[np.nan, np.diff(panel.features[:, 0]) / panel.features[:-1, 0]][same]
    moved = np.abs(change) > 1e-9
    return {"product_day_pairs": int(len(change)), "share_moved": round(float(moved.mean()), 3),
            "median_abs_move_when_moved": round(float(np.median(np.abs(change[moved]))), 3) if moved.any() else 0.0}


# --- the whole analysis -----------------------------------------------------------------------------------


def analyse(data: RetailHistory, *, train_share: float = 0.75, progress=None) -> dict:
    panel = demand_model.build_panel(data.histories, data.reference_prices)
    cut = int(len(data.trading_days) * train_share)
    early, late = panel.days < cut, panel.days >= cut
    train = _subset(panel, early)
    test = _subset(panel, late)
    ready, why = demand_model.enough_history(train)
    report = {
        "file": {"purchase_lines": len(data.purchases), "items": len(data.histories),
                 "trading_days": len(data.trading_days), "first_day": str(data.trading_days[0]),
                 "last_day": str(data.trading_days[-1]), "panel_product_days": int(len(panel.units)),
                 "split_day": str(data.trading_days[cut])},
        "history_check": why,
        "signals": signal_outcomes(panel),
        "retailer_price_moves": actual_price_moves(panel),
        "within_product_log_log": within_product_elasticity(train),
    }
    if not ready:
        return report
    model = demand_model.train(train)
    references = np.array([data.reference_prices[int(pid)] for pid in test.product_ids])
    report["model"] = {"training": model.metrics, **model_report(model, test, references)}
    report["replay_rules"] = replay(test, data.reference_prices, None, progress)
    report["replay_model"] = replay(test, data.reference_prices, model, progress)
    return report


def _subset(panel: demand_model.Panel, mask: np.ndarray) -> demand_model.Panel:
    return demand_model.Panel(panel.product_ids[mask], panel.days[mask], panel.features[mask], panel.units[mask])


def sql_signal_check(data: RetailHistory, as_of_days: list[dt.date], progress=None) -> dict:
    """Load the purchases into the events table of a scratch database and run ``compute_demand_signals``
    at midnight after each of ``as_of_days``; compare every product with ``signals_from_file``."""
    with scratch_database():
        category = Category.objects.create(name="Online retail", slug="online-retail")
        products = Product.objects.bulk_create([
            Product(title=f"Item {code}"[:200], slug=f"item-{i}", category=category,
                    base_price=Decimal(f"{data.reference_prices.get(i, 1.0):.2f}"),
                    price=Decimal(f"{data.reference_prices.get(i, 1.0):.2f}"), stock=0)
            for i, code in enumerate(data.item_codes)
        ], batch_size=2000)
        product_ids = [product.pk for product in products]
        batch = []
        for n, (item, moment, quantity, price) in enumerate(data.purchases):
            batch.append({"id": str(uuid.UUID(int=n + 1)), "created_at": moment, "event_type": "purchase",
                          "product_id": product_ids[item], "quantity": quantity, "price": price,
                          "surface": "online-retail", "experiments": {}})
            if len(batch) == 5000:
                store_events(batch)
                batch.clear()
                if progress:
                    progress(5000)
        if batch:
            store_events(batch)
        checks = {}
        for day in as_of_days:
            as_of = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
            compute_demand_signals(as_of)
            from_sql = {row[0]: row[1:] for row in DemandSignal.objects.values_list(
                "product_id", "units_last_day", "units_daily_average")}
            expected = signals_from_file(data, as_of)
            worst = 0.0
            for item, (last_day, average) in expected.items():
                got = from_sql[product_ids[item]]
                worst = max(worst, abs(got[0] - last_day), abs(got[1] - average))
            nonzero = sum(1 for row in from_sql.values() if row[0] or row[1])
            checks[str(as_of.date())] = {"products": len(from_sql), "with_sales_in_8_days": nonzero,
                                         "matching_file": len(expected), "max_abs_difference": worst}
        return checks

