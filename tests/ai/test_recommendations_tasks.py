import time
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.cache import cache

from ai.recommendations import refresh, serving, tasks
from ai.recommendations.models import CustomerRecommendations
from ai.recommendations.training import train_recommendations
from commerce.orders.services import Shopper, add_to_cart
from tests.factories import CustomerFactory
from vitrine.celery import app


@pytest.mark.django_db(transaction=True)
def test_add_to_cart_refreshes_the_list_in_redis_through_a_real_worker(shop):
    products, _ = shop
    train_recommendations()
    customer = CustomerFactory()
    key = serving.CUSTOMER_KEY.format(customer.pk)
    assert cache.get(key) is None

    with start_worker(app, queues=["realtime"], perform_ping_check=False, loglevel="WARNING"):
        # add_to_cart commits, then cart_changed queues the refresh on the realtime queue
        add_to_cart(Shopper(customer, uuid.uuid4()), products["garden1"])
        deadline = time.monotonic() + 20
        while cache.get(key) is None and time.monotonic() < deadline:
            time.sleep(0.05)

    cached = cache.get(key)
    assert cached is not None, "the worker never refreshed the customer's list"
    ids = [item[0] for item in cached["items"]]
    garden = {products[f"garden{i}"].pk for i in (0, 2, 3, 4)}
    assert set(ids[:4]) == garden and products["garden1"].pk not in ids
    assert list(CustomerRecommendations.objects.get(customer=customer).product_ids) == ids


@pytest.mark.parametrize(("task", "queue"), [
    (tasks.refresh_customer_recommendations, "realtime"),
    (tasks.refresh_visitor_recommendations, "realtime"),
    (tasks.train_recommendations, "batch"),
    (tasks.compute_product_neighbours, "batch"),
])
def test_tasks_are_routed_to_their_queues(task, queue):
    assert app.amqp.router.route({}, task.name)["queue"].name == queue


@pytest.mark.django_db
def test_refresh_of_a_deleted_customer_is_a_quiet_no_op(monkeypatch):
    refreshed = []
    monkeypatch.setattr(refresh, "refresh_customer_recommendations", refreshed.append)
    customer = CustomerFactory()

    tasks.refresh_customer_recommendations(987654)
    tasks.refresh_customer_recommendations(customer.pk)

    assert refreshed == [customer.pk]  # the gone customer never reaches the service


@pytest.mark.django_db
def test_training_task_skips_while_another_run_holds_the_lock(shop, caplog):
    lock = cache.lock(tasks.TRAINING_LOCK_KEY, timeout=60)
    assert lock.acquire(blocking=False)
    try:
        tasks.train_recommendations()
    finally:
        lock.release()
    assert serving.current_model() is None
    assert "already running" in caplog.text
    tasks.train_recommendations()
    assert serving.current_model() is not None


@pytest.mark.django_db
def test_product_views_queue_one_session_refresh_per_burst(shop):
    visitor = uuid.uuid4()
    assert serving.claim_visitor_refresh(visitor)
    assert not serving.claim_visitor_refresh(visitor)  # the second view of the burst queues nothing
    tasks.refresh_visitor_recommendations(str(visitor))  # the task clears the claim
    assert serving.claim_visitor_refresh(visitor)
