import csv
import datetime as dt
import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from ai.pricing import analysis, demand_model
from commerce.catalogue.models import Product

HEADER = ["user_id", "item_id", "timestamp", "event_type", "quantity", "price", "description"]


def write(path, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


@pytest.fixture
def retail_file(tmp_path):
    """40 items over 70 trading days (closed on Sundays), list prices moving ±10 % and demand answering."""
    rng = np.random.default_rng(5)
    rows, day, trading = [], dt.date(2011, 1, 3), 0
    while trading < 70:
        if day.weekday() != 6:
            for item in range(40):
                price = 2.0 * (1.1 if (trading // 7 + item) % 3 == 0 else 1.0 if (trading // 7 + item) % 3 else 0.9)
                for order in range(rng.poisson(2 * (price / 2.0) ** -2)):
                    rows.append([1000 + order, f"I{item}", f"{day}T10:{order % 60:02d}:00", "purchase",
                                 int(rng.integers(1, 4)), f"{price:.2f}", f"ITEM {item}"])
            trading += 1
        day += dt.timedelta(days=1)
    return write(tmp_path / "retail.csv", rows)


def test_loading_keeps_trading_days_and_takes_the_days_list_price(tmp_path):
    path = write(tmp_path / "tiny.csv", [
        [1, "A", "2011-01-01T09:00:00", "purchase", 12, "2.10", "MUG"],  # a bulk line at the tier price
        [2, "A", "2011-01-01T10:00:00", "purchase", 1, "2.55", "MUG"],
        [2, "A", "2011-01-03T10:00:00", "purchase", 2, "2.55", "MUG"],  # Jan 2nd: closed
        [3, "B", "2011-01-03T11:00:00", "purchase", 5, "0.001", "PADS"],  # sub-penny: cannot be priced
        [3, "A", "2011-01-03T11:00:00", "purchase", -1, "2.55", "MUG"],  # a cancellation
    ])

    data = analysis.load_purchases(path)

    assert data.trading_days == [dt.date(2011, 1, 1), dt.date(2011, 1, 3)]
    assert data.item_codes == ["A", "B"] and list(data.histories) == [0]
    history = data.histories[0]
    assert (history.units.tolist(), history.price.tolist()) == ([13, 2], [2.55, 2.55])
    assert analysis.load_purchases(path, day_price="median").histories[0].price.tolist() == [2.325, 2.55]


def test_signals_from_the_file_use_the_engines_windows(tmp_path):
    path = write(tmp_path / "tiny.csv", [
        [1, "A", "2011-01-10T09:00:00", "purchase", 3, "1.00", "X"],  # last 24 h
        [1, "A", "2011-01-08T09:00:00", "purchase", 14, "1.00", "X"],  # the 7 days before
        [1, "A", "2011-01-01T09:00:00", "purchase", 99, "1.00", "X"],  # older
    ])
    data = analysis.load_purchases(path)

    figures = analysis.signals_from_file(data, dt.datetime(2011, 1, 11, tzinfo=dt.UTC))

    assert figures == {0: (3, 2.0)}


def test_the_analysis_reports_signals_elasticity_and_replayed_proposals(retail_file, monkeypatch):
    monkeypatch.setattr(demand_model, "MIN_TRAINING_ROWS", 500)
    data = analysis.load_purchases(retail_file)

    report = analysis.analyse(data)

    assert report["file"]["items"] == 40 and report["file"]["trading_days"] == 70
    # planted: −2 (the model's monotonic constraints alone only guarantee ≤ 0)
    assert -3.0 < report["model"]["arc_elasticity_0.9_1.1"] < -1.0
    assert -3.0 < report["within_product_log_log"]["elasticity"] < -1.0
    assert set(report["signals"]) <= {"above trend (last day ≥ 1.25× trend)", "on trend",
                                      "below trend (last day ≤ 0.75× trend)"}
    for strategy in ("replay_rules", "replay_model"):
        replay = report[strategy]
        assert sum(replay["share"].values()) == pytest.approx(1.0, abs=0.002)
        assert 0.8 <= replay["final_price_vs_reference"]["p10"] <= replay["final_price_vs_reference"]["p90"] <= 1.2


def test_too_little_history_reports_why_and_trains_nothing(retail_file, monkeypatch):
    monkeypatch.setattr(demand_model, "MIN_TRAINING_ROWS", 5000)
    report = analysis.analyse(analysis.load_purchases(retail_file))
    assert "5000 needed" in report["history_check"] and "model" not in report


@pytest.mark.django_db(transaction=True)
def test_the_command_checks_the_sql_signals_in_a_scratch_database(retail_file, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(demand_model, "MIN_TRAINING_ROWS", 500)
    out = tmp_path / "report.json"

    call_command("analyse_pricing", str(retail_file), "--sql-signals", "2", "--json", str(out))

    report = json.loads(out.read_text())
    assert report["file"]["day_price"] == "highest"
    checks = report["sql_signal_check"]
    assert len(checks) == 2
    for check in checks.values():
        assert check["products"] == 40 and check["max_abs_difference"] < 1e-9
    assert not Product.objects.exists()  # the shop's tables were never touched


def test_the_command_refuses_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        call_command("analyse_pricing", str(tmp_path / "nope.csv"))
