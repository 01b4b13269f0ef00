"""``vitrine.log``: an outage's repeated failures become one line per interval; the 2-second event drain
logs only runs that moved events, and its failures."""

import logging

import pytest
from celery import beat
from celery.app import trace
from django_redis.cache import RedisCache

from commerce.events import services as event_services
from commerce.events import tasks as event_tasks
from vitrine import celery_app, log


def failure(logger: logging.Logger) -> None:
    try:
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    except ConnectionError:
        logger.exception("Exception ignored")


@pytest.fixture
def outage_logger():
    logger = logging.getLogger("tests.outage")
    logger.filters.clear()
    yield logger
    logger.filters.clear()


def test_the_first_failure_passes_as_one_line_and_the_rest_of_the_interval_is_counted(
        outage_logger, caplog, monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(log.time, "monotonic", lambda: clock[0])
    outage_logger.addFilter(log.FirstPerInterval(seconds=10))

    with caplog.at_level(logging.ERROR, logger="tests.outage"):
        for _ in range(40):
            failure(outage_logger)
        clock[0] += 10
        failure(outage_logger)

    first, later = caplog.records
    assert first.getMessage() == ("Exception ignored: ConnectionError: Error 111 connecting to 127.0.0.1:6379. "
                                  "Connection refused.")
    assert first.exc_info is None and "Traceback" not in caplog.text
    assert later.getMessage().endswith("(39 more like it in the last 10 s not logged)")


def test_records_below_the_filters_level_pass_untouched_between_limited_failures(outage_logger, caplog):
    # given beat's filter: only its errors are an outage to summarise
    outage_logger.addFilter(log.FirstPerInterval(seconds=10, level="ERROR"))

    with caplog.at_level(logging.INFO, logger="tests.outage"):
        failure(outage_logger)
        failure(outage_logger)
        outage_logger.info("Scheduler: Sending due task %s", "heartbeat")
        outage_logger.info("Scheduler: Sending due task %s", "heartbeat")

    assert [record.getMessage() for record in caplog.records] == [
        "Exception ignored: ConnectionError: Error 111 connecting to 127.0.0.1:6379. Connection refused.",
        "Scheduler: Sending due task heartbeat", "Scheduler: Sending due task heartbeat"]


def test_a_cache_whose_redis_is_down_logs_one_line_not_a_traceback_per_call(caplog, monkeypatch):
    # The settings' django-redis logger and filter (its interval restarted: an earlier test's outage
    # must not hold this one back), on a cache pointed at a port nothing listens on.
    for installed in logging.getLogger("vitrine.cache").filters:
        monkeypatch.setattr(installed, "_open_at", 0.0)
    unreachable = RedisCache("redis://127.0.0.1:9/0", {"OPTIONS": {"IGNORE_EXCEPTIONS": True,
                                                                  "SOCKET_CONNECT_TIMEOUT": 0.2}})

    with caplog.at_level(logging.ERROR, logger="vitrine.cache"):
        found = [unreachable.get(f"key-{n}") for n in range(5)]

    assert found == [None] * 5  # misses, never an error
    assert [record.name for record in caplog.records] == ["vitrine.cache"]
    assert "ConnectionError" in caplog.text and "Traceback" not in caplog.text


# --- the 2-second event drain in the worker and beat logs ------------------------------------------

DRAIN = "commerce.events.tasks.drain_events"


def run_in_worker(task, task_id: str) -> None:
    """What a worker logs for one run: its consumer's "received" line, then Celery's own tracer (which
    logs "succeeded" or the failure), on the loggers the settings configure."""
    context = {"id": task_id, "name": task.name, "args": "()", "kwargs": "{}", "eta": None}
    logging.getLogger("celery.worker.strategy").info(trace.LOG_RECEIVED, context, extra={"data": context})
    trace.build_tracer(task.name, task, app=task.app, propagate=False)(task_id, (), {}, {"id": task_id})


def sent_by_beat(entry: str, task: str) -> None:
    scheduler = beat.Scheduler(celery_app, lazy=True)
    scheduler.apply_async = lambda *args, **kwargs: None  # logged, not sent
    scheduler.apply_entry(beat.ScheduleEntry(name=entry, task=task, app=celery_app))


@pytest.fixture
def worker_log(caplog):
    with caplog.at_level(logging.INFO):
        yield caplog


def test_a_drain_that_moved_nothing_logs_nothing_in_the_worker_or_beat(worker_log, monkeypatch):
    monkeypatch.setattr(event_services, "drain_events", lambda: 0)

    sent_by_beat("drain-events", DRAIN)
    run_in_worker(event_tasks.drain_events, "idle-drain")

    assert worker_log.records == []


def test_a_drain_that_moved_events_logs_its_summary_line(worker_log, monkeypatch):
    monkeypatch.setattr(event_services, "drain_events", lambda: 1200)

    run_in_worker(event_tasks.drain_events, "busy-drain")

    [line] = [record.getMessage() for record in worker_log.records]
    assert line.startswith(f"Task {DRAIN}[busy-drain] succeeded in ") and line.endswith("s: 1200")


def test_a_failing_drain_is_logged_with_its_traceback(worker_log, monkeypatch):
    def broken():
        raise RuntimeError("PostgreSQL is gone")
    monkeypatch.setattr(event_services, "drain_events", broken)

    run_in_worker(event_tasks.drain_events, "failed-drain")

    [failure] = worker_log.records
    assert failure.levelno == logging.ERROR and failure.name == "celery.app.trace"
    assert "failed-drain" in failure.getMessage() and "PostgreSQL is gone" in failure.getMessage()
    assert failure.exc_info is not None


def test_other_tasks_keep_their_received_sent_and_succeeded_lines(worker_log, monkeypatch):
    for installed in logging.getLogger("celery.beat").filters:  # an earlier beat line must not hold this one
        if isinstance(installed, log.FirstPerInterval):
            monkeypatch.setattr(installed, "_open_at", 0.0)
    sent_by_beat("maintain-event-partitions", "commerce.events.tasks.maintain_event_partitions")
    for line in (trace.LOG_RECEIVED, trace.LOG_SUCCESS):
        context = {"id": "other", "name": "ai.search.tasks.reembed_missing_products", "return_value": "0",
                   "runtime": 0.01, "args": "()", "kwargs": "{}", "eta": None}
        logging.getLogger("celery.app.trace").info(line, context, extra={"data": context})

    assert [record.getMessage().split("[")[0] for record in worker_log.records] == [
        "Scheduler: Sending due task maintain-event-partitions (commerce.events.tasks.maintain_event_partitions)",
        "Task ai.search.tasks.reembed_missing_products", "Task ai.search.tasks.reembed_missing_products"]
