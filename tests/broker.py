"""Reading the Celery broker as a worker would find it (the suite's Redis, or the broker URL a test set)."""

import base64
import json

from vitrine.celery import app as celery_app


def queued_tasks(queue: str) -> list[dict]:
    """The task messages waiting in ``queue``: their headers (id, task, eta…) plus their decoded ``args``."""
    with celery_app.connection_for_read() as connection:
        messages = [json.loads(raw) for raw in connection.default_channel.client.lrange(queue, 0, -1)]
    return [{**message["headers"], "args": json.loads(base64.b64decode(message["body"]))[0]} for message in messages]
