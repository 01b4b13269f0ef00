"""The gradient-boosting demand model: how many units a product sells in a day at a price, given its demand.

Features are the demand signals the engine has at decision time (``DemandSignal``) plus the price as
a ratio to the product's reference price (its base price in the shop). The target is the units sold
over the following day, so units ÷ traffic is the conversion at that price. The model is a
``HistGradientBoostingRegressor`` with a Poisson loss (daily units are counts) and a monotonic
constraint: demand never rises with price. Without that prior a tree model happily reads noise as
"a higher price sells more", and the revenue-maximising price then runs to the guardrail.

The same panel builder serves the shop (events) and ``analyse_pricing`` (a retailer's CSV).
"""

import math
import pickle
from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

FEATURES = ("price_ratio", "views_per_hour", "add_to_cart_rate", "units_last_day", "units_daily_average")
MONOTONIC = (-1, 0, 0, 0, 0)  # units never rise with price
TREND_DAYS = 7
# Enough history: product-days, and enough of them away from the reference price that the model has
# seen what a different price does (a catalogue that never changed price teaches it nothing).
MIN_TRAINING_ROWS = 2000
MIN_PRICE_VARIATION_SHARE = 0.05
PRICE_VARIATION = 0.02
# The model only chooses among price ratios it saw in this central share of its training rows.
TRUSTED_QUANTILES = (0.05, 0.95)
# Prices tried between the guardrails (plus the current one): a 2 % grid across a ±10 % range. Measured
# (bench/pricing.py): prediction is most of a run's time, linear in this number.
CANDIDATES = 11
MIN_REVENUE_GAIN = 0.02  # below a 2 % expected gain the model holds: noise, not a reason to move


@dataclass
class ProductDays:
    """One product's daily history: index 0 is ``first_day``; price is NaN on days nothing showed it."""

    first_day: int
    views: np.ndarray
    adds: np.ndarray
    units: np.ndarray
    price: np.ndarray


@dataclass
class Panel:
    product_ids: np.ndarray
    days: np.ndarray
    features: np.ndarray  # columns in FEATURES order
    units: np.ndarray


def product_days(rows, first_day: int, last_day: int) -> ProductDays:
    """``rows`` of (day, views, add-to-carts, units, price or None) for one product, days in [first, last]."""
    length = last_day - first_day + 1
    views, adds, units = np.zeros(length), np.zeros(length), np.zeros(length)
    price = np.full(length, np.nan)
    for day, day_views, day_adds, day_units, day_price in rows:
        i = day - first_day
        views[i], adds[i], units[i] = day_views, day_adds, day_units
        if day_price is not None:
            price[i] = day_price
    return ProductDays(first_day, views, adds, units, price)


def _forward_fill(values: np.ndarray) -> np.ndarray:
    """NaNs take the last known value (a price stays what it was on days nobody saw it)."""
    known = np.where(~np.isnan(values), np.arange(len(values)), 0)
    np.maximum.accumulate(known, out=known)
    return values[known]


def build_panel(histories: dict[int, ProductDays], reference_prices: dict[int, float]) -> Panel:
    """One row per product and day d with the signals as they stood at the start of d and the units sold on d.

    Signals match ``DemandSignal``: views per hour and add-to-cart rate of day d−1, units of d−1, and
    the daily average of d−8…d−2. Days before a product's first day count as zero; days without a
    known price (before it was first seen) are left out.
    """
    ids, days, columns, targets = [], [], [], []
    for product_id, history in histories.items():
        reference = reference_prices.get(product_id)
        if not reference or reference <= 0:
            continue
        pad = TREND_DAYS + 1
        views = np.concatenate([np.zeros(pad), history.views])
        adds = np.concatenate([np.zeros(pad), history.adds])
        units = np.concatenate([np.zeros(pad), history.units])
        price = _forward_fill(history.price)
        cumulative = np.concatenate([[0.0], np.cumsum(units)])
        d = np.arange(1, len(history.units))  # need the day before
        if not len(d):
            continue
        p = d + pad  # index into the padded arrays
        day_views = views[p - 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            add_rate = np.where(day_views > 0, adds[p - 1] / day_views, 0.0)
        trend = (cumulative[p - 1] - cumulative[p - 1 - TREND_DAYS]) / TREND_DAYS  # days d−8 … d−2
        known = ~np.isnan(price[d])
        ids.append(np.full(known.sum(), product_id))
        days.append(d[known] + history.first_day)
        columns.append(np.column_stack([price[d] / reference, day_views / 24.0, add_rate, units[p - 1],
                                        trend])[known])
        targets.append(units[p][known])
    if not ids:
        return Panel(np.empty(0, int), np.empty(0, int), np.empty((0, len(FEATURES))), np.empty(0))
    return Panel(np.concatenate(ids), np.concatenate(days), np.vstack(columns), np.concatenate(targets))


def enough_history(panel: Panel) -> tuple[bool, str]:
    rows = len(panel.units)
    if rows < MIN_TRAINING_ROWS:
        return False, f"{rows} product-days of history, {MIN_TRAINING_ROWS} needed"
    varied = float(np.mean(np.abs(panel.features[:, 0] - 1) >= PRICE_VARIATION))
    if varied < MIN_PRICE_VARIATION_SHARE:
        return False, (f"only {varied:.1%} of product-days were sold away from the reference price "
                       f"(±{PRICE_VARIATION:.0%}); {MIN_PRICE_VARIATION_SHARE:.0%} needed to learn price sensitivity")
    return True, f"{rows} product-days, {varied:.1%} away from the reference price"


def new_estimator() -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(loss="poisson", monotonic_cst=list(MONOTONIC), learning_rate=0.08,
                                         max_iter=300, max_leaf_nodes=31, min_samples_leaf=40, l2_regularization=1.0,
                                         early_stopping=True, validation_fraction=0.1, n_iter_no_change=20,
                                         random_state=0)


def poisson_deviance(observed: np.ndarray, predicted: np.ndarray) -> float:
    predicted = np.maximum(predicted, 1e-9)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(observed > 0, observed * np.log(observed / predicted), 0.0)
    return float(np.mean(2 * (term - (observed - predicted))))


@dataclass
class TrainedModel:
    estimator: HistGradientBoostingRegressor
    price_ratio_low: float
    price_ratio_high: float
    metrics: dict

    def serialise(self) -> bytes:
        return pickle.dumps(self.estimator, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def from_stored(cls, stored) -> "TrainedModel":
        return cls(pickle.loads(stored.estimator), stored.price_ratio_low, stored.price_ratio_high,
                   stored.metrics)


def train(panel: Panel, holdout_share: float = 0.2) -> TrainedModel:
    """Fit on the earliest days, score the last ``holdout_share`` of days, then refit on everything."""
    cut = np.quantile(panel.days, 1 - holdout_share)
    early, late = panel.days < cut, panel.days >= cut
    metrics = {"rows": int(len(panel.units))}
    if early.sum() >= MIN_TRAINING_ROWS // 2 and late.sum():
        scored = new_estimator().fit(panel.features[early], panel.units[early])
        predicted = scored.predict(panel.features[late])
        baseline = panel.features[late, FEATURES.index("units_daily_average")]
        observed = panel.units[late]
        metrics.update({
            "holdout_rows": int(late.sum()),
            "holdout_poisson_deviance": round(poisson_deviance(observed, predicted), 4),
            "baseline_poisson_deviance": round(poisson_deviance(observed, np.maximum(baseline, 1e-3)), 4),
            "holdout_mae": round(float(np.mean(np.abs(observed - predicted))), 4),
            "baseline_mae": round(float(np.mean(np.abs(observed - baseline))), 4),
        })
    estimator = new_estimator().fit(panel.features, panel.units)
    low, high = np.quantile(panel.features[:, 0], TRUSTED_QUANTILES)
    return TrainedModel(estimator, float(low), float(high), metrics)


def demand_curve(model: TrainedModel, features: np.ndarray, ratios) -> list[float]:
    """Partial dependence: mean predicted units when every row is priced at each ratio of its reference."""
    curve = []
    for ratio in ratios:
        priced = features.copy()
        priced[:, 0] = ratio
        curve.append(float(model.estimator.predict(priced).mean()))
    return curve


def arc_elasticity(model: TrainedModel, features: np.ndarray, low: float = 0.9, high: float = 1.1) -> float:
    """% change in units per % change in price between ``low`` and ``high`` × the reference price."""
    at_low, at_high = demand_curve(model, features, [low, high])
    return (math.log(at_high) - math.log(at_low)) / (math.log(high) - math.log(low))


@dataclass
class ModelChoice:
    price: float
    expected_revenue: float
    current_revenue: float


def revenue_maximising_prices(model: TrainedModel, signals: np.ndarray, current: np.ndarray, reference: np.ndarray,
                              low: np.ndarray, high: np.ndarray) -> list[ModelChoice | None]:
    """For each product (rows of ``signals``: FEATURES without the price ratio), the price in [low, high]
    with the highest expected revenue = price × predicted units; None where the allowed range holds no
    price the model has seen. All candidates of all products go through one ``predict`` call."""
    n = len(current)
    steps = np.linspace(0.0, 1.0, CANDIDATES)
    candidates = np.column_stack([low[:, None] + (high - low)[:, None] * steps, current])  # n × (CANDIDATES + 1)
    candidates = np.round(candidates, 2)
    with np.errstate(divide="ignore", invalid="ignore"):  # a free product (base 0) has no ratio: never trusted
        ratios = candidates / reference[:, None]
    trusted = (ratios >= model.price_ratio_low - 1e-9) & (ratios <= model.price_ratio_high + 1e-9)
    ratios = np.nan_to_num(ratios, nan=0.0, posinf=0.0)
    width = candidates.shape[1]
    rows = np.column_stack([ratios.reshape(-1), np.repeat(signals, width, axis=0)])
    # One thread: on batches this size OpenMP's start-up and spin-waiting cost more than they save
    # (measured on the 2-core machine under load: 15k rows 0.79 s with two threads, 0.05 s with one).
    with threadpool_limits(1, "openmp"):
        units = model.estimator.predict(rows).reshape(n, width)
    revenue = np.where(trusted, candidates * units, -np.inf)
    best = revenue.argmax(axis=1)
    current_revenue = current * units[:, -1]
    choices = []
    for i in range(n):
        if not trusted[i].any():
            choices.append(None)
            continue
        choices.append(ModelChoice(float(candidates[i, best[i]]), float(revenue[i, best[i]]),
                                   float(current_revenue[i])))
    return choices
