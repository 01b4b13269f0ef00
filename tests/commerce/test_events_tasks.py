import datetime as dt
import time

import pytest
from celery.contrib.testing.worker import start_worker

from commerce.events import services, tasks
from commerce.events.models import CustomerEvent
from commerce.events.partitions import add_months, existing_partitions, month_start, partition_name
from vitrine.celery import app

pytestmark = pytest.mark.django_db(transaction=True)


def test_drain_task_runs_on_a_real_worker_through_the_embedded_redis():
    for product_id in (1, 2, 3):
        services.record("view", product_id=product_id)

    with start_worker(app, queues=["default"], perform_ping_check=False, loglevel="WARNING"):
        tasks.drain_events.apply_async()  # routed to the "default" queue by CELERY_TASK_ROUTES
        deadline = time.monotonic() + 20
        while CustomerEvent.objects.count() < 3 and time.monotonic() < deadline:
            time.sleep(0.1)

    assert sorted(CustomerEvent.objects.values_list("product_id", flat=True)) == [1, 2, 3]
    assert services.queue_depth() == {"queued": 0, "processing": 0, "dead": 0}


def test_the_drain_task_leaves_the_queue_to_the_drainers_already_running_when_there_are_enough(settings):
    # Given as many drainers running (holding leases) as the setting allows, and an event queued
    settings.VITRINE_EVENT_DRAINERS = 1
    services.record("view", product_id=1)
    with services.Drainer(services.redis_client()):
        # When beat's drain task runs meanwhile
        stored_meanwhile = tasks.drain_events()

    # Then it drained nothing; once the drainer is gone, it drains
    assert stored_meanwhile == 0 and services.queue_depth()["queued"] == 1
    assert tasks.drain_events() == 1


def test_event_tasks_are_routed_to_the_default_queue():
    route = app.amqp.router.route({}, tasks.drain_events.name)
    assert route["queue"].name == "default"


def test_partition_maintenance_task_keeps_three_months_ahead():
    tasks.maintain_event_partitions()
    this_month = month_start(dt.datetime.now(dt.UTC))
    assert partition_name(add_months(this_month, 3)) in existing_partitions()
