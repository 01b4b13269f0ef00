from celery import shared_task
from django.conf import settings

from commerce.events import partitions, services


@shared_task(ignore_result=True)
def drain_events():
    """Beat, every few seconds: move queued events into PostgreSQL. Several may run at once, on any
    workers: each claims batches of its own (``services.drain_events``). Up to
    ``VITRINE_EVENT_DRAINERS`` at a time: during a backlog each drains for up to 20 s, and beat queues
    one every 2 s, which would otherwise hold every default worker and starve the queue's other tasks."""
    if services.live_drainers() >= settings.VITRINE_EVENT_DRAINERS:
        return 0
    return services.drain_events()


@shared_task(ignore_result=True)
def maintain_event_partitions():
    """Beat, daily: keep partitions three months ahead and drop those past retention."""
    partitions.ensure_partitions(months_ahead=3)
    partitions.drop_partitions_older_than(settings.VITRINE_EVENT_RETENTION_MONTHS)
