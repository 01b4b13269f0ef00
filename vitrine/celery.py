"""The one Celery app. Queues: ``realtime`` (per-customer refreshes a shopper waits for), ``default``
(embedding on save, event ingest), ``batch`` (training, bulk re-embedding, demand signals).
Routing lives in ``settings.CELERY_TASK_ROUTES``; the beat schedule in ``CELERY_BEAT_SCHEDULE``."""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vitrine.settings")

app = Celery("vitrine")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue("realtime"), Queue("default"), Queue("batch")]
app.autodiscover_tasks()
