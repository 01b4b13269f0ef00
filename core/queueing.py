"""Queueing Celery tasks from request paths (views, signal receivers, blocks): after the transaction
commits, and never failing the request. While the broker is down a task is skipped with one warning
line, in a few milliseconds; the beat schedule (or the next change that queues it) catches up."""

import logging

from django.db import transaction
from kombu.exceptions import OperationalError
from kombu.pools import producers
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Broker connections that give up at the first failed attempt instead of kombu's retries (0.6–6 s per
# task, measured against a dead Redis), and on a broker host that does not answer within a second.
# For connections that only publish or probe: the worker's own keeps reconnecting for as long as it takes.
BROKER_FAIL_FAST = {"max_retries": 0, "socket_connect_timeout": 1, "socket_timeout": 1}


def enqueue(task, *args, countdown: float | None = None) -> None:
    """Queue ``task(*args)`` once the current transaction commits (at once outside a transaction), so
    the worker sees what the request wrote."""
    transaction.on_commit(lambda: publish(task, *args, countdown=countdown))


def publish(task, *args, countdown: float | None = None) -> str | None:
    """Queue ``task(*args)`` now; returns its id, or None when the broker is unreachable (logged)."""
    connection = task.app.connection_for_write(transport_options=BROKER_FAIL_FAST)
    try:
        with producers[connection].acquire(block=True) as producer:
            return task.apply_async(args, countdown=countdown, producer=producer, retry=False).id
    except (OperationalError, RedisError) as error:
        logger.warning("%s not queued: the broker is unreachable (%s)", task.name, error)
        return None
