import numpy as np
import pytest

from ai.pricing import demand_model
from ai.pricing.demand_model import Panel, build_panel, enough_history, product_days


def test_the_panel_holds_the_signals_as_they_stood_at_the_start_of_each_day():
    # day: (views, adds, units, price); day 3 had no events, its price carries over
    history = product_days([(10, 48, 6, 2, 9.0), (11, 24, 0, 1, 10.0), (12, 0, 3, 7, 11.0), (14, 12, 1, 4, None)],
                           first_day=10, last_day=14)

    panel = build_panel({7: history}, {7: 10.0})

    assert panel.days.tolist() == [11, 12, 13, 14] and panel.product_ids.tolist() == [7] * 4
    assert panel.units.tolist() == [1, 7, 0, 4]  # the day's sales: the target
    price_ratio, views_per_hour, add_rate, last_day, trend = panel.features.T
    assert price_ratio.tolist() == [1.0, 1.1, 1.1, 1.1]  # day 13 keeps day 12's price
    assert views_per_hour.tolist() == [2.0, 1.0, 0.0, 0.0]  # the day before's views / 24
    assert add_rate.tolist() == [0.125, 0.0, 0.0, 0.0]
    assert last_day.tolist() == [2, 1, 7, 0]
    # the 7 days before the last one: for day 14 that is days 7–12 (before the product: 0) → (2 + 1 + 7) / 7
    assert trend.tolist() == pytest.approx([0, 2 / 7, 3 / 7, 10 / 7])


def test_days_before_any_known_price_are_left_out():
    history = product_days([(0, 5, 0, 1, None), (1, 5, 0, 2, None), (2, 5, 0, 3, 4.0)], first_day=0, last_day=3)
    panel = build_panel({1: history}, {1: 4.0})
    assert panel.days.tolist() == [2, 3]


def panel_of(ratios, units) -> Panel:
    n = len(units)
    return Panel(np.zeros(n, int), np.arange(n), np.column_stack([ratios, np.ones((n, 4))]), np.asarray(units, float))


def test_enough_history_needs_rows_and_prices_that_varied():
    assert not enough_history(panel_of(np.ones(100), np.ones(100)))[0]
    unvaried, why = enough_history(panel_of(np.ones(5000), np.ones(5000)))
    assert not unvaried and "away from the reference price" in why
    varied = np.where(np.arange(5000) % 10 == 0, 1.1, 1.0)
    assert enough_history(panel_of(varied, np.ones(5000)))[0]


def test_the_model_learns_that_demand_falls_with_price():
    rng = np.random.default_rng(0)
    ratios = rng.uniform(0.8, 1.2, 8000)
    trend = rng.uniform(1, 6, 8000)
    features = np.column_stack([ratios, trend / 2, np.full(8000, 0.1), rng.poisson(trend), trend])
    panel = Panel(np.arange(8000) % 40, np.arange(8000) // 40, features, rng.poisson(trend * ratios ** -2.0) * 1.0)

    model = demand_model.train(panel)

    assert -3.0 < demand_model.arc_elasticity(model, features) < -1.0  # the truth is −2
    curve = demand_model.demand_curve(model, features, [0.85, 1.0, 1.15])
    assert curve[0] > curve[1] > curve[2]
    assert model.metrics["holdout_poisson_deviance"] < model.metrics["baseline_poisson_deviance"]
    assert 0.8 < model.price_ratio_low < 0.85 and 1.15 < model.price_ratio_high < 1.2


def test_revenue_maximising_prices_try_one_predict_for_all_products():
    rng = np.random.default_rng(1)
    ratios = rng.uniform(0.8, 1.2, 6000)
    features = np.column_stack([ratios, np.ones(6000), np.zeros(6000), np.full(6000, 3.0), np.full(6000, 3.0)])
    model = demand_model.train(Panel(np.zeros(6000, int), np.arange(6000) // 60, features,
                                     rng.poisson(3 * ratios ** -0.2) * 1.0))
    signals = np.array([[1.0, 0.0, 3.0, 3.0]] * 2)

    chosen = demand_model.revenue_maximising_prices(model, signals, current=np.array([10.0, 0.0]),
                                                     reference=np.array([10.0, 0.0]), low=np.array([9.0, 0.0]),
                                                     high=np.array([11.0, 0.0]))

    assert chosen[0].price > 10.5 and chosen[0].expected_revenue > chosen[0].current_revenue
    assert chosen[1] is None  # a free product has no price ratio the model knows
