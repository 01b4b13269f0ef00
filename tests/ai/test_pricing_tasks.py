import datetime as dt
import time
import uuid
from decimal import Decimal

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from ai.pricing import tasks
from ai.pricing.models import DemandModel, PriceChange, PriceHistory
from commerce.catalogue.models import Product
from commerce.events.services import store_events
from tests.factories import PricingRuleFactory, ProductFactory
from vitrine.celery import app

pytestmark = pytest.mark.django_db


def test_pricing_tasks_are_routed_to_the_batch_queue():
    for task in (tasks.refresh_prices, tasks.train_demand_model, tasks.enforce_rule_bounds):
        assert app.amqp.router.route({}, task.name)["queue"].name == "batch"


def test_the_30_minute_run_prices_once_per_slot():
    product = ProductFactory(base_price=Decimal("10.00"), stock=10)
    PricingRuleFactory(auto_approve_percent=Decimal("100"))
    now = timezone.now()
    store_events([{"id": str(uuid.uuid4()), "created_at": (now - dt.timedelta(hours=hours)).isoformat(),
                   "event_type": "purchase", "product_id": product.pk, "quantity": quantity}
                  for hours, quantity in ((2, 12), (48, 28))])  # 12 in the last day vs 4/day before

    summary = tasks.refresh_prices()
    tasks.refresh_prices()  # a duplicate delivery in the same slot

    assert summary["signals"] == 1 and summary["applied"] == 1
    assert Product.objects.get(pk=product.pk).price == Decimal("10.50")
    assert PriceChange.objects.count() == PriceHistory.objects.count() == 1


def test_training_is_a_no_op_until_there_is_enough_history():
    product = ProductFactory()
    for days in range(1, 8):  # a week of sales at one price: too little, and nothing to learn about price from
        store_events([{"id": str(uuid.uuid4()), "created_at": (timezone.now() - dt.timedelta(days=days)).isoformat(),
                       "event_type": "purchase", "product_id": product.pk, "quantity": 2, "price": "12.50"}])

    tasks.train_demand_model()

    assert not DemandModel.objects.exists()


def test_enforcing_the_bounds_of_a_deleted_rule_moves_no_price():
    dear = ProductFactory(base_price=Decimal("10.00"), price=Decimal("14.00"))
    rule = PricingRuleFactory(product=dear)  # at most 12.00
    rule_id = rule.pk
    rule.delete()

    tasks.enforce_rule_bounds(rule_id)

    assert Product.objects.get(pk=dear.pk).price == Decimal("14.00")
    assert not PriceHistory.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_saving_a_rule_moves_prices_outside_its_bounds_on_a_real_worker():
    product = ProductFactory(base_price=Decimal("10.00"), price=Decimal("14.00"))

    with start_worker(app, queues=["batch"], perform_ping_check=False, loglevel="WARNING"):
        PricingRuleFactory(max_markup_percent=Decimal("20"))  # queued after the commit
        deadline = time.monotonic() + 20
        while Product.objects.get(pk=product.pk).price != Decimal("12.00") and time.monotonic() < deadline:
            time.sleep(0.1)

    assert Product.objects.get(pk=product.pk).price == Decimal("12.00")
    assert PriceHistory.objects.get().source == PriceHistory.Source.RULE_BOUNDS
