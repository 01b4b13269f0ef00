from celery import shared_task
from django.conf import settings

from commerce.events import partitions, services


@shared_task(ignore_result=True)
def drain_events():
    """Beat, every few seconds: move queued events into PostgreSQL (one drainer at a time)."""
    return services.drain_events()


@shared_task(ignore_result=True)
def maintain_event_partitions():
    """Beat, daily: keep partitions three months ahead and drop those past retention."""
    partitions.ensure_partitions(months_ahead=3)
    partitions.drop_partitions_older_than(settings.VITRINE_EVENT_RETENTION_MONTHS)
