"""The one Celery app. Queues: ``realtime`` (per-customer refreshes a shopper waits for), ``default``
(embedding on save, event ingest), ``batch`` (training, bulk re-embedding, demand signals).
Routing lives in ``settings.CELERY_TASK_ROUTES``; the beat schedule in ``CELERY_BEAT_SCHEDULE``."""

import os
import time

from celery import Celery
from celery.signals import beat_init, worker_init
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vitrine.settings")

app = Celery("vitrine")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue("realtime"), Queue("default"), Queue("batch")]
app.autodiscover_tasks()

HEARTBEAT_KEY = "vitrine:worker-heartbeat"


@app.task(name="vitrine.heartbeat")
def heartbeat() -> float:
    """Proves a worker consumes the default queue: beat queues it every 30 s, ``/healthz`` reports the
    age of the last one."""
    from django.core.cache import cache

    now = time.time()
    cache.set(HEARTBEAT_KEY, now, timeout=None)
    return now


@worker_init.connect
@beat_init.connect
def watch_embedded_servers(**_):
    """Worker and beat restart a killed embedded PostgreSQL or Redis themselves (vitrine.embedded.watch):
    their broker connections are kombu's, which nothing else in the process can heal."""
    from django.conf import settings

    from vitrine import embedded

    if settings.EMBEDDED_POSTGRES or settings.EMBEDDED_REDIS:
        embedded.watch(settings.VAR_DIR, watch_postgres=settings.EMBEDDED_POSTGRES,
                       watch_redis=settings.EMBEDDED_REDIS)
