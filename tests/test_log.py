"""``vitrine.log``: an outage's repeated failures become one line per interval."""

import logging

import pytest
from django_redis.cache import RedisCache

from vitrine import log


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
