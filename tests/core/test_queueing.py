"""core.queueing against real brokers: the suite's Redis, a killed one, and one that comes back."""

import pytest

from ai.recommendations import tasks as recommendation_tasks
from core.queueing import enqueue, publish
from tests.broker import queued_tasks
from tests.spare_servers import kill, redis_pid, spare_servers
from vitrine import embedded
from vitrine.celery import app as celery_app

pytestmark = pytest.mark.django_db

REFRESH = recommendation_tasks.refresh_customer_recommendations  # routed to the realtime queue


def not_queued_warnings(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records
            if record.name == "core.queueing" and record.levelname == "WARNING"]


def test_publish_queues_the_task_on_its_routed_queue_and_returns_its_id():
    task_id = publish(REFRESH, 42)

    [message] = queued_tasks("realtime")
    assert (message["id"], message["task"], message["args"]) == (task_id, REFRESH.name, [42])
    assert message["eta"] is None


def test_a_countdown_is_passed_on_as_the_tasks_eta():
    publish(REFRESH, 42, countdown=30)

    [message] = queued_tasks("realtime")
    assert message["eta"] is not None


def test_enqueue_publishes_only_once_the_transaction_commits(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        enqueue(REFRESH, 42)
        assert queued_tasks("realtime") == []

    assert [message["args"] for message in queued_tasks("realtime")] == [[42]]


def test_with_the_broker_down_tasks_are_skipped_at_the_first_refusal_with_a_warning_each(
        broker_connection_attempts, caplog):
    ids = [publish(REFRESH, 1), publish(REFRESH, 2)]

    assert ids == [None, None]
    assert len(broker_connection_attempts) == 2  # one refused connection a task, not kombu's retries
    warnings = not_queued_warnings(caplog)
    assert len(warnings) == 2
    assert warnings[0].startswith(f"{REFRESH.name} not queued: the broker is unreachable (")


def test_publishing_resumes_when_a_killed_broker_is_back(monkeypatch, caplog):
    with spare_servers() as (root, _):
        monkeypatch.setattr(celery_app.conf, "broker_url", f"redis+socket://{embedded.redis_socket_path(root)}")
        assert publish(REFRESH, 1) is not None

        kill(redis_pid(root))
        assert publish(REFRESH, 2) is None

        embedded.ensure_redis(root)
        resumed = publish(REFRESH, 3)

        queued = {message["id"]: message["args"] for message in queued_tasks("realtime")}
    assert queued[resumed] == [3]
    assert [2] not in queued.values()
    assert len(not_queued_warnings(caplog)) == 1
