"""Recording, ingesting and aggregating behavioural events.

Recording is a Redis RPUSH (microseconds; the request never waits on PostgreSQL). ``drain_events``
moves queued events into the partitioned table in batches: each batch is first moved atomically to a
processing list, COPYed into a staging table and inserted with ``ON CONFLICT DO NOTHING`` in one
transaction, and only then removed from Redis. A drainer killed at any point leaves its batch in the
processing list for the next drainer; replaying it inserts nothing twice. If Redis is unreachable,
``record`` writes the event straight to PostgreSQL.
"""

import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone
from django_redis import get_redis_connection
from redis.exceptions import LockError, RedisError

from commerce.catalogue.models import Category
from commerce.events.models import CustomerEvent, EventType, VisitorLink

logger = logging.getLogger(__name__)

QUEUE_KEY = "vitrine:events:queue"
PROCESSING_KEY = "vitrine:events:processing"
DEAD_LETTER_KEY = "vitrine:events:dead"
DRAIN_LOCK_KEY = "vitrine:events:drain-lock"
# Measured (bench/ingest.py): 5,000 events COPY + insert in ≈ 0.15 s; small enough that a batch
# replayed after a crash is cheap, large enough that per-batch overhead stays under 10%.
DRAIN_BATCH_SIZE = 5000
# A killed drainer never releases its lock: it expires after this many seconds and is renewed after
# every batch, so ingest stalls at most this long after a crash.
DRAIN_LOCK_SECONDS = 15
EVENT_TYPES = frozenset(EventType.values)
COLUMNS = ("id", "created_at", "event_type", "customer_id", "anonymous_id", "session_id", "product_id",
           "quantity", "price", "surface", "experiments", "query")
COLUMN_DEFAULTS = {"session_id": "", "quantity": 1, "surface": "", "query": ""}

# Atomically move up to ARGV[1] items from the queue's head to the processing list and return them.
_MOVE_BATCH = """
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items > 0 then
  redis.call('RPUSH', KEYS[2], unpack(items))
  redis.call('LTRIM', KEYS[1], #items, -1)
end
return items
"""


def redis_client():
    return get_redis_connection("default")


# --- recording ------------------------------------------------------------------------------------


def record(
    event_type: str,
    *,
    customer_id: int | None = None,
    visitor_id: uuid.UUID | str | None = None,
    product_id: int | None = None,
    quantity: int = 1,
    price: Decimal | None = None,
    surface: str = "",
    experiments: dict | None = None,
    query: str = "",
    session_id: str = "",
    created_at: dt.datetime | None = None,
) -> str:
    """Record one behavioural event; returns its id. Never raises for an unavailable Redis."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    event = {
        "id": str(uuid.uuid4()),
        "created_at": (created_at or timezone.now()).isoformat(),
        "event_type": event_type,
        "customer_id": customer_id,
        "anonymous_id": str(visitor_id) if visitor_id else None,
        "session_id": session_id or "",
        "product_id": product_id,
        "quantity": quantity,
        "price": str(price) if price is not None else None,
        "surface": surface[:64],
        "experiments": experiments or {},
        "query": query,
    }
    try:
        redis_client().rpush(QUEUE_KEY, json.dumps(event, separators=(",", ":")))
    except RedisError as error:
        logger.warning("Redis unavailable (%s): writing %s event straight to PostgreSQL", error, event_type)
        store_events([event])
    return event["id"]


def record_many(events: Iterable[dict]) -> int:
    """Queue many already-built events (same keys as ``record`` builds) in one round trip."""
    pipe = redis_client().pipeline(transaction=False)
    count = 0
    for event in events:
        pipe.rpush(QUEUE_KEY, json.dumps(event, separators=(",", ":"), default=str))
        count += 1
    pipe.execute()
    return count


# --- ingest ---------------------------------------------------------------------------------------


def store_events(events: list[dict]) -> int:
    """Insert events in one transaction, skipping any already stored. Returns the rows inserted.

    Events of visitors who have since logged in get their customer here (VisitorLink), so a login
    that happens while events are still queued loses none of them to the anonymous side.
    """
    columns = ", ".join(COLUMNS)
    selected = ", ".join("COALESCE(s.customer_id, l.customer_id)" if c == "customer_id" else f"s.{c}"
                         for c in COLUMNS)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS event_staging (LIKE events_customerevent INCLUDING DEFAULTS)")
        cursor.execute("TRUNCATE event_staging")
        with cursor.copy(f"COPY event_staging ({columns}) FROM STDIN") as copy:
            for event in events:
                copy.write_row([
                    json.dumps(event.get("experiments") or {}) if c == "experiments"
                    else event.get(c, COLUMN_DEFAULTS.get(c))
                    for c in COLUMNS
                ])
        cursor.execute(
            f"""INSERT INTO events_customerevent ({columns})
                SELECT {selected} FROM event_staging s
                LEFT JOIN events_visitorlink l ON l.visitor_id = s.anonymous_id
                ON CONFLICT DO NOTHING"""
        )
        return cursor.rowcount


def drain_events(*, batch_size: int = DRAIN_BATCH_SIZE, time_budget: float = 20.0) -> int:
    """Move queued events into PostgreSQL until the queue is empty or ``time_budget`` seconds pass.

    One drainer runs at a time (a Redis lock); a second call returns 0 at once. Returns rows inserted.
    """
    client = redis_client()
    lock = client.lock(DRAIN_LOCK_KEY, timeout=DRAIN_LOCK_SECONDS, blocking=False)
    if not lock.acquire(blocking=False):
        return 0
    inserted = 0
    try:
        leftover = client.lrange(PROCESSING_KEY, 0, -1)
        if leftover:  # a drainer died between taking a batch and acknowledging it
            logger.warning("replaying %d events left by an interrupted drain", len(leftover))
            inserted += _store_and_acknowledge(client, leftover, lock)
        move_batch = client.register_script(_MOVE_BATCH)
        deadline = time.monotonic() + time_budget
        while time.monotonic() < deadline:
            lock.reacquire()  # still ours: renew for the next batch
            batch = move_batch(keys=[QUEUE_KEY, PROCESSING_KEY], args=[batch_size])
            if not batch:
                break
            inserted += _store_and_acknowledge(client, batch, lock)
    except LockError:
        logger.error("event drain lock lost mid-drain; the next drain replays the unacknowledged batch")
    finally:
        try:
            lock.release()
        except LockError:
            logger.warning("event drain lock expired before release; another drainer may have started")
    return inserted


def _store_and_acknowledge(client, raw_events: list[bytes], lock) -> int:
    events, malformed = [], []
    for raw in raw_events:
        try:
            events.append(json.loads(raw))
        except (ValueError, TypeError):
            malformed.append(raw)
    if malformed:  # kept for inspection, never silently dropped
        client.rpush(DEAD_LETTER_KEY, *malformed)
        logger.error("moved %d malformed queued events to %s", len(malformed), DEAD_LETTER_KEY)
    inserted = store_events(events) if events else 0
    # Acknowledge only after the commit, and only while the lock is still ours: if it expired, another
    # drainer may own the processing list now, and replaying this batch later is harmless.
    if not lock.owned():
        raise LockError("drain lock expired before the batch was acknowledged")
    client.delete(PROCESSING_KEY)
    return inserted


def queue_depth() -> dict[str, int]:
    client = redis_client()
    return {"queued": client.llen(QUEUE_KEY), "processing": client.llen(PROCESSING_KEY),
            "dead": client.llen(DEAD_LETTER_KEY)}


# --- identity -------------------------------------------------------------------------------------


@transaction.atomic
def link_visitor(customer_id: int, visitor_id: uuid.UUID) -> int:
    """Give the customer every event of their anonymous visitor id, stored or still queued."""
    VisitorLink.objects.update_or_create(visitor_id=visitor_id, defaults={"customer_id": customer_id})
    return CustomerEvent.objects.filter(anonymous_id=visitor_id, customer__isnull=True).update(
        customer_id=customer_id
    )


# --- aggregations ---------------------------------------------------------------------------------
# Every query bounds created_at with literal timestamps, so PostgreSQL prunes to the partitions of
# the window at plan time, and filters on the (product|customer, event_type, created_at) indexes.


def _rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def event_weights() -> dict[str, float]:
    return settings.VITRINE_EVENT_WEIGHTS


def view_rate_query(now: dt.datetime, hours: int = 24) -> tuple[str, list]:
    return (
        """SELECT product_id, count(*)::float / %s FROM events_customerevent
           WHERE event_type = 'view' AND created_at >= %s AND created_at < %s AND product_id IS NOT NULL
           GROUP BY product_id""",
        [hours, now - dt.timedelta(hours=hours), now],
    )


def product_view_rates(*, now: dt.datetime | None = None, hours: int = 24) -> dict[int, float]:
    """Views per hour of each viewed product over the last ``hours``."""
    return dict(_rows(*view_rate_query(now or timezone.now(), hours)))


def add_to_cart_rate_query(now: dt.datetime, hours: int = 24) -> tuple[str, list]:
    return (
        """SELECT product_id,
                  count(*) FILTER (WHERE event_type = 'add_to_cart')::float
                  / count(*) FILTER (WHERE event_type = 'view')
           FROM events_customerevent
           WHERE event_type IN ('view', 'add_to_cart') AND created_at >= %s AND created_at < %s
             AND product_id IS NOT NULL
           GROUP BY product_id HAVING count(*) FILTER (WHERE event_type = 'view') > 0""",
        [now - dt.timedelta(hours=hours), now],
    )


def add_to_cart_rates(*, now: dt.datetime | None = None, hours: int = 24) -> dict[int, float]:
    """Add-to-carts per view of each viewed product over the last ``hours``."""
    return dict(_rows(*add_to_cart_rate_query(now or timezone.now(), hours)))


def purchase_velocity_query(now: dt.datetime) -> tuple[str, list]:
    day_ago, week_before = now - dt.timedelta(days=1), now - dt.timedelta(days=8)
    return (
        """SELECT product_id,
                  coalesce(sum(quantity) FILTER (WHERE created_at >= %s), 0)::float,
                  coalesce(sum(quantity) FILTER (WHERE created_at < %s), 0)::float / 7
           FROM events_customerevent
           WHERE event_type = 'purchase' AND created_at >= %s AND created_at < %s AND product_id IS NOT NULL
           GROUP BY product_id""",
        [day_ago, day_ago, week_before, now],
    )


def purchase_velocity(*, now: dt.datetime | None = None) -> dict[int, tuple[float, float]]:
    """Units sold per product in the last 24 h, and the daily average of the 7 days before that."""
    rows = _rows(*purchase_velocity_query(now or timezone.now()))
    return {pid: (last_day, average) for pid, last_day, average in rows}


def product_demand_query(now: dt.datetime) -> tuple[str, list]:
    """The three store-wide windows above in one scan, for callers that need them together (pricing).

    Columns: product_id, views in the last 24 h, add-to-carts in the last 24 h, units bought in the
    last 24 h, and the daily average of units bought in the 7 days before that — the predicates of
    ``view_rate_query``, ``add_to_cart_rate_query`` and ``purchase_velocity_query``.
    """
    day_ago, week_before = now - dt.timedelta(days=1), now - dt.timedelta(days=8)
    return (
        """SELECT product_id,
                  count(*) FILTER (WHERE event_type = 'view'),
                  count(*) FILTER (WHERE event_type = 'add_to_cart'),
                  coalesce(sum(quantity) FILTER (WHERE event_type = 'purchase' AND created_at >= %s), 0),
                  coalesce(sum(quantity) FILTER (WHERE event_type = 'purchase' AND created_at < %s), 0)::float / 7
           FROM events_customerevent
           WHERE created_at >= %s AND created_at < %s AND product_id IS NOT NULL
             AND (event_type = 'purchase' OR (event_type IN ('view', 'add_to_cart') AND created_at >= %s))
           GROUP BY product_id""",
        [day_ago, day_ago, week_before, now, day_ago],
    )


def preferred_categories_query(customer_id: int, now: dt.datetime, half_life_days: float,
                               window_days: int) -> tuple[str, list]:
    weights = event_weights()
    cases = " ".join(f"WHEN '{event}' THEN {float(weight)}" for event, weight in weights.items())
    return (
        f"""SELECT p.category_id,
                   sum((CASE e.event_type {cases} ELSE 0 END)
                       * power(0.5, extract(epoch FROM (%s - e.created_at))::float / 86400.0 / %s))::float AS weight
            FROM events_customerevent e JOIN catalogue_product p ON p.id = e.product_id
            WHERE e.customer_id = %s AND e.event_type IN ({", ".join(f"'{e}'" for e in weights)})
              AND e.created_at >= %s AND e.created_at < %s
            GROUP BY p.category_id HAVING sum(CASE e.event_type {cases} ELSE 0 END) > 0
            ORDER BY weight DESC""",
        [now, half_life_days, customer_id, now - dt.timedelta(days=window_days), now],
    )


def preferred_categories(customer_id: int, *, now: dt.datetime | None = None, half_life_days: float = 14,
                         window_days: int = 90, limit: int = 5) -> list[tuple[int, float]]:
    """The customer's categories by time-decayed, event-weighted interest (weight halves every
    ``half_life_days``), strongest first."""
    rows = _rows(*preferred_categories_query(customer_id, now or timezone.now(), half_life_days, window_days))
    return [(category_id, weight) for category_id, weight in rows[:limit] if weight > 0]


VIEWED_ORDER = {"recent": "max(created_at) DESC", "most": "count(*) DESC, max(created_at) DESC"}


def recently_viewed_query(now: dt.datetime, customer_id: int | None, visitor_id, days: int,
                          limit: int, *, order: str = "recent") -> tuple[str, list]:
    """The products a shopper viewed in ``days``, each once: most ``recent`` first, or ``most`` viewed."""
    who, whom = ("customer_id", customer_id) if customer_id else ("anonymous_id", visitor_id)
    return (
        f"""SELECT product_id FROM events_customerevent
            WHERE {who} = %s AND event_type = 'view' AND created_at >= %s AND created_at < %s
              AND product_id IS NOT NULL
            GROUP BY product_id ORDER BY {VIEWED_ORDER[order]} LIMIT %s""",
        [whom, now - dt.timedelta(days=days), now, limit],
    )


def recently_viewed(*, customer_id: int | None = None, visitor_id=None, now: dt.datetime | None = None,
                    days: int = 30, limit: int = 12, order: str = "recent") -> list[int]:
    """Products the customer (else the anonymous visitor) viewed, most recent (or most viewed) first,
    each once."""
    if not customer_id and not visitor_id:
        return []
    return [row[0] for row in _rows(*recently_viewed_query(now or timezone.now(), customer_id, visitor_id,
                                                            days, limit, order=order))]


def most_viewed_product(*, customer_id: int | None = None, visitor_id=None, now: dt.datetime | None = None,
                        days: int = 30) -> int | None:
    """The product the customer (else the anonymous visitor) viewed most often, latest view breaking ties."""
    found = recently_viewed(customer_id=customer_id, visitor_id=visitor_id, now=now, days=days, limit=1,
                            order="most")
    return found[0] if found else None


def popular_products_query(now: dt.datetime, category_ids: list[int] | None, days: int,
                           limit: int) -> tuple[str, list]:
    weights = event_weights()
    cases = " ".join(f"WHEN '{event}' THEN {float(weight)}" for event, weight in weights.items() if weight > 0)
    category_filter = "AND p.category_id = ANY(%s)" if category_ids else ""
    params = [now - dt.timedelta(days=days), now] + ([category_ids] if category_ids else []) + [limit]
    return (
        f"""SELECT e.product_id FROM events_customerevent e JOIN catalogue_product p ON p.id = e.product_id
            WHERE e.event_type IN ('view', 'add_to_cart', 'purchase') AND e.created_at >= %s AND e.created_at < %s
              AND p.active {category_filter}
            GROUP BY e.product_id
            ORDER BY sum(CASE e.event_type {cases} ELSE 0 END) DESC, e.product_id LIMIT %s""",
        params,
    )


def popular_products(*, category_id: int | None = None, days: int = 7, limit: int = 20) -> list[int]:
    """Most-engaged-with active products of the last ``days`` (in a category and below it), cached 10 min."""
    key = f"events:popular:{category_id or 'all'}:{days}:{limit}"
    ids = cache.get(key)
    if ids is None:
        category_ids = Category.objects.get(pk=category_id).descendant_ids() if category_id else None
        ids = [row[0] for row in _rows(*popular_products_query(timezone.now(), category_ids, days, limit))]
        cache.set(key, ids, 600)
    return ids
