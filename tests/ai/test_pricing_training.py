import datetime as dt
import uuid
from decimal import Decimal

import numpy as np
import pytest

from ai.pricing import demand_model, training
from ai.pricing.models import DemandModel
from commerce.events.services import store_events
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

MIDNIGHT = dt.datetime(2026, 3, 10, tzinfo=dt.UTC)
TEN = Decimal("10.00")


def test_the_model_is_trained_once_enough_history_with_varied_prices_exists(monkeypatch):
    monkeypatch.setattr(demand_model, "MIN_TRAINING_ROWS", 300)
    products = [ProductFactory(base_price=TEN) for _ in range(12)]
    rng = np.random.default_rng(3)
    events = []
    for day in range(1, 61):
        for product in products:
            price = TEN if day % 3 else Decimal(f"{rng.choice([8.5, 9.0, 11.0, 11.5]):.2f}")
            when = (MIDNIGHT - dt.timedelta(days=day, hours=-12)).isoformat()
            events += [{"id": str(uuid.uuid4()), "created_at": when, "event_type": "view", "product_id": product.pk,
                        "price": str(price)} for _ in range(10)]
            units = int(rng.poisson(4 * float(price / TEN) ** -2))  # elasticity −2
            if units:
                events.append({"id": str(uuid.uuid4()), "created_at": when, "event_type": "purchase",
                               "product_id": product.pk, "quantity": units, "price": str(price)})
    store_events(events)
    assert training.train_demand_model(now=MIDNIGHT - dt.timedelta(days=50)) is None  # 10 days: not enough yet
    assert not DemandModel.objects.exists()

    stored = training.train_demand_model(now=MIDNIGHT)

    assert stored is not None and stored.training_rows >= 300
    assert stored.price_ratio_low < 1 < stored.price_ratio_high
    # planted: −2 (monotonic constraints alone only guarantee ≤ 0)
    assert -3.0 < demand_model.arc_elasticity(training.latest_model(), training.shop_panel(MIDNIGHT).features) < -1.0


def test_the_shop_panel_is_each_products_days_from_the_events():
    mug = ProductFactory(base_price=TEN)
    store_events([{"id": str(uuid.uuid4()), "created_at": (MIDNIGHT - dt.timedelta(days=days, hours=-9)).isoformat(),
                   "event_type": event_type, "product_id": mug.pk, "quantity": quantity, "price": price}
                  for days, event_type, quantity, price in [(3, "view", 1, "12.00"), (3, "view", 1, "12.00"),
                                                            (3, "purchase", 2, "12.00"), (2, "purchase", 1, "12.00"),
                                                            (0, "purchase", 9, "12.00")]])  # today: not a full day

    panel = training.shop_panel(MIDNIGHT, days=4)

    # from the day after its first day with events (day 1 of 0–3): each day's units are the target
    assert panel.product_ids.tolist() == [mug.pk] * 2 and panel.days.tolist() == [2, 3]
    assert panel.units.tolist() == [1, 0]
    assert panel.features[:, 0].tolist() == pytest.approx([1.2, 1.2])  # the price shown ÷ the base price


def test_only_the_newest_models_are_kept_and_the_newest_is_used():
    for rows in range(1, training.KEEP_MODELS + 2):
        training.store_demand_model(demand_model.TrainedModel(demand_model.new_estimator(), 0.9, 1.1, {"n": rows}),
                                    training_rows=rows)

    assert sorted(DemandModel.objects.values_list("training_rows", flat=True)) == [2, 3, 4]
    assert training.latest_model().metrics == {"n": 4}
