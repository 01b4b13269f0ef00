import numpy as np
import pytest

from ai.experiments import simulation


def test_an_a_a_test_declares_a_winner_at_most_at_the_stated_rate_however_often_it_is_read():
    # The page read daily from 1000 shoppers on: the fixed-horizon test's false alarms inflate, the page's do not.
    summary = simulation.simulate(simulation.Scenario(effect=0.0, minimum_sample=1000), runs=200, seed=1)

    assert summary.sequential <= 0.05
    assert summary.fixed_horizon_peeking > 0.10


def test_a_planted_ten_percent_lift_is_found_at_the_stated_power_with_cuped_helping():
    summary = simulation.simulate(simulation.Scenario(effect=0.10), runs=200, seed=2)

    assert summary.sequential >= 0.80
    assert summary.sequential > summary.sequential_without_cuped
    assert summary.variance_reduction == pytest.approx(0.15, abs=0.03)


def test_the_planted_lift_is_exact_in_the_simulated_shoppers():
    rng = np.random.default_rng(3)
    scenario = simulation.Scenario(shoppers=200_000)

    control = sum(t.total for t in simulation.daily_tallies(scenario, 0.0, rng).values()) / scenario.shoppers
    treatment = sum(t.total for t in simulation.daily_tallies(scenario, 0.10, rng).values()) / scenario.shoppers

    assert control == pytest.approx(0.20, abs=0.003) and treatment == pytest.approx(0.22, abs=0.003)
