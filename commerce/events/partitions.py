"""Monthly partitions of the CustomerEvent table: created ahead of time, dropped after retention."""

import datetime as dt
import logging

from django.db import connection, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

TABLE = "events_customerevent"
DEFAULT_PARTITION = f"{TABLE}_default"


def month_start(moment: dt.datetime | dt.date) -> dt.date:
    return dt.date(moment.year, moment.month, 1)


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def partition_name(month: dt.date) -> str:
    return f"{TABLE}_y{month.year}m{month.month:02d}"


def existing_partitions() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
               JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s ORDER BY c.relname""",
            [TABLE],
        )
        return [row[0] for row in cursor.fetchall()]


def ensure_partitions(*, start: dt.date | None = None, months_ahead: int = 3) -> list[str]:
    """Create the monthly partitions from ``start`` (default: this month) to ``months_ahead`` months on.

    Rows that already landed in the default partition for a new month are moved into it, so creating
    a partition late never fails and never loses an event. Returns the partitions created.
    """
    today = month_start(timezone.now())
    month = month_start(start) if start else today
    last = add_months(today, months_ahead)
    present = set(existing_partitions())
    created = []
    while month <= last:
        name = partition_name(month)
        if name not in present:
            _create_partition(name, month, add_months(month, 1))
            created.append(name)
        month = add_months(month, 1)
    if created:
        logger.info("created event partitions: %s", ", ".join(created))
    return created


def _create_partition(name: str, lower: dt.date, upper: dt.date) -> None:
    bounds = [lower.isoformat(), upper.isoformat()]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        cursor.execute(
            f"""WITH moved AS (DELETE FROM {DEFAULT_PARTITION}
                               WHERE created_at >= %s AND created_at < %s RETURNING *)
                INSERT INTO {name} SELECT * FROM moved""",
            bounds,
        )
        cursor.execute(f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)", bounds)


def drop_partitions_older_than(months: int) -> list[str]:
    """Drop whole monthly partitions that end before the retention window (``months`` back from now)."""
    cutoff = add_months(month_start(timezone.now()), -months)
    dropped = []
    for name in existing_partitions():
        if name == DEFAULT_PARTITION:
            continue
        year, month = int(name[-7:-3]), int(name[-2:])
        if add_months(dt.date(year, month, 1), 1) <= cutoff:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE {name}")
            dropped.append(name)
    if dropped:
        logger.info("dropped event partitions past retention: %s", ", ".join(dropped))
    return dropped
