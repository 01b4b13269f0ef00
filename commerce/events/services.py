"""Recording, ingesting and aggregating behavioural events.

Recording is a Redis RPUSH (microseconds; the request never waits on PostgreSQL). ``drain_events``
moves queued events into the partitioned table in batches: each batch is first moved atomically to a
processing list, COPYed into a staging table and inserted with ``ON CONFLICT DO NOTHING`` in one
transaction, and only then removed from Redis. A drainer killed at any point leaves its batch in the
processing list for the next drainer; replaying it inserts nothing twice. If Redis is unreachable,
``record`` writes the event straight to PostgreSQL.

Nothing may stop the drain: ``record`` refuses an event PostgreSQL could not store, and an item that
reaches the queue anyway (unreadable, unstorable, or rejected by PostgreSQL: a batch it rejects is split
until the rejected events are found) moves to the dead-letter list with its reason, while the rest of
its batch is stored. ``manage.py dead_letter_events`` lists, replays and purges that list.
"""

import datetime as dt
import json
import logging
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal

import psycopg
from django.conf import settings
from django.core.cache import cache
from django.db import DataError, IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_redis import get_redis_connection
from redis.exceptions import LockError, RedisError

from commerce.catalogue.models import Category, Product
from commerce.events.models import CustomerEvent, VisitorLink
from commerce.events.validation import check_storable, repaired

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
COLUMNS = ("id", "created_at", "event_type", "customer_id", "anonymous_id", "session_id", "product_id",
           "quantity", "price", "surface", "experiments", "query")
COLUMN_DEFAULTS = {"session_id": "", "quantity": 1, "surface": "", "query": ""}
# PostgreSQL refusing a value: psycopg raises these from COPY, Django's wrappers from the INSERT; a
# string psycopg cannot encode (a lone surrogate) raises ValueError before anything is sent. Anything
# else (PostgreSQL down) leaves the batch in the processing list to be retried.
REJECTED = (psycopg.DataError, psycopg.IntegrityError, DataError, IntegrityError, ValueError)

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
    """Record one behavioural event; returns its id. Never raises for an unavailable Redis; raises
    ValueError, with the reason, for an event PostgreSQL could not store."""
    event = {
        "id": str(uuid.uuid4()),
        "created_at": (created_at or timezone.now()).isoformat(),
        "event_type": event_type,
        "customer_id": customer_id,
        "anonymous_id": str(visitor_id) if visitor_id else None,
        "session_id": session_id or "",
        "product_id": product_id,
        "quantity": quantity,
        "price": format(price, "f") if price is not None else None,  # never exponent notation
        "surface": surface[:64],
        "experiments": experiments or {},
        "query": query,
    }
    check_storable(event)
    try:
        redis_client().rpush(QUEUE_KEY, json.dumps(event, separators=(",", ":")))
    except RedisError as error:
        logger.warning("Redis unavailable (%s): writing %s event straight to PostgreSQL", error, event_type)
        store_events([event])
    return event["id"]


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
    events, dead = [], []
    for raw in raw_events:
        try:
            event = json.loads(raw)
        except (ValueError, RecursionError) as error:
            dead.append(DeadLetter.of(raw, f"not valid JSON: {error}"))
            continue
        try:
            check_storable(event)
        except ValueError as error:
            dead.append(DeadLetter.of(raw, str(error)))
            continue
        events.append((raw, event))
    inserted = _store_isolating_rejects(events, dead, lock) if events else 0
    # Acknowledge only after the commit, and only while the lock is still ours: if it expired, another
    # drainer may own the processing list now, and replaying this batch later is harmless. The dead
    # letters go with the acknowledgement, so a replayed batch does not dead-letter its events twice.
    if not lock.owned():
        raise LockError("drain lock expired before the batch was acknowledged")
    pipe = client.pipeline(transaction=True)
    if dead:
        pipe.rpush(DEAD_LETTER_KEY, *(letter.dumps() for letter in dead))
    pipe.delete(PROCESSING_KEY)
    pipe.execute()
    if dead:
        logger.error("moved %d queued events PostgreSQL cannot store to %s (first: %s); see manage.py "
                     "dead_letter_events", len(dead), DEAD_LETTER_KEY, dead[0].reason)
    return inserted


def _store_isolating_rejects(events: list[tuple[bytes, dict]], dead: list["DeadLetter"], lock) -> int:
    """Store ``events`` ((raw, parsed) pairs); if PostgreSQL rejects them, store each half on its own,
    down to the single events it rejects, which are added to ``dead``. Returns the rows inserted."""
    try:
        return store_events([event for _, event in events])
    except REJECTED as error:
        if len(events) == 1:
            dead.append(DeadLetter.of(events[0][0], "rejected by PostgreSQL: " + " ".join(str(error).split())))
            return 0
        lock.reacquire()  # splitting a large batch takes a while
        middle = len(events) // 2
        return (_store_isolating_rejects(events[:middle], dead, lock)
                + _store_isolating_rejects(events[middle:], dead, lock))


def queue_depth() -> dict[str, int]:
    client = redis_client()
    return {"queued": client.llen(QUEUE_KEY), "processing": client.llen(PROCESSING_KEY),
            "dead": client.llen(DEAD_LETTER_KEY)}


# --- dead letters ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadLetter:
    """A queued item the drain could not store: the item as queued, why, and when."""

    raw: bytes
    reason: str
    failed_at: str

    @classmethod
    def of(cls, raw: bytes, reason: str) -> "DeadLetter":
        return cls(raw, reason, timezone.now().isoformat())

    def dumps(self) -> str:
        # surrogateescape: raw bytes that are not UTF-8 survive the round trip unchanged
        return json.dumps({"reason": self.reason, "failed_at": self.failed_at,
                           "event": self.raw.decode("utf-8", "surrogateescape")})

    @classmethod
    def loads(cls, item: bytes) -> "DeadLetter":
        try:
            letter = json.loads(item)
            return cls(letter["event"].encode("utf-8", "surrogateescape"), letter["reason"], letter["failed_at"])
        except (ValueError, TypeError, KeyError, AttributeError):
            # Before reasons were kept, only items that were not JSON were dead-lettered, as they came.
            return cls(item, "not valid JSON", "")


def dead_letters(limit: int | None = None) -> list[DeadLetter]:
    """The dead-lettered events, oldest first (the first ``limit``)."""
    items = redis_client().lrange(DEAD_LETTER_KEY, 0, -1 if limit is None else limit - 1)
    return [DeadLetter.loads(item) for item in items]


def replay_dead_letters(*, repair: bool = False) -> int:
    """Queue the dead-lettered events again and clear them from the list; returns how many. ``repair``
    first drops the characters PostgreSQL cannot store and cuts strings to their column. The drain
    stores each one, or dead-letters it again with its reason."""
    client = redis_client()
    items = client.lrange(DEAD_LETTER_KEY, 0, -1)
    if not items:
        return 0
    raws = [DeadLetter.loads(item).raw for item in items]
    if repair:
        raws = [_repaired_raw(raw) for raw in raws]
    pipe = client.pipeline(transaction=True)
    pipe.rpush(QUEUE_KEY, *raws)
    pipe.ltrim(DEAD_LETTER_KEY, len(items), -1)  # letters dead-lettered meanwhile stay
    pipe.execute()
    return len(items)


def _repaired_raw(raw: bytes) -> bytes:
    try:
        event = json.loads(raw)
    except (ValueError, RecursionError):
        return raw  # not JSON: nothing to repair
    return json.dumps(repaired(event), separators=(",", ":")).encode() if isinstance(event, dict) else raw


def purge_dead_letters() -> int:
    """Delete the dead-lettered events; returns how many."""
    client = redis_client()
    count = client.llen(DEAD_LETTER_KEY)
    client.ltrim(DEAD_LETTER_KEY, count, -1)  # letters dead-lettered meanwhile stay
    return count


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


def product_demand_query(now: dt.datetime) -> tuple[str, list]:
    """Each product's store-wide demand in one scan of the last 8 days (pricing's demand signals).

    Columns: product_id, views in the last 24 h, add-to-carts in the last 24 h, units bought in the
    last 24 h, and the daily average of units bought in the 7 days before that.
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


def daily_product_activity(start: dt.datetime, end: dt.datetime) -> list[tuple[int, int, int, int, int, float | None]]:
    """Each product's days in [start, end) with views, add-to-carts or purchases, ordered by product and day,
    as (product, day, views, add-to-carts, units bought, average price shown): day 0 is the 24 hours from
    ``start``; the price is the views' average, else the purchases' (None when neither carried one).
    The shop's daily demand history (pricing's demand model trains on it)."""
    return _rows(
        f"""SELECT product_id, floor(extract(epoch FROM created_at - %s) / 86400)::int AS day,
                   count(*) FILTER (WHERE event_type = 'view'),
                   count(*) FILTER (WHERE event_type = 'add_to_cart'),
                   coalesce(sum(quantity) FILTER (WHERE event_type = 'purchase'), 0),
                   coalesce(avg(price) FILTER (WHERE event_type = 'view'),
                            avg(price) FILTER (WHERE event_type = 'purchase'))::float
            FROM {CustomerEvent._meta.db_table}
            WHERE created_at >= %s AND created_at < %s AND product_id IS NOT NULL
              AND event_type IN ('view', 'add_to_cart', 'purchase')
            GROUP BY 1, 2 ORDER BY 1, 2""",
        [start, start, end],
    )


def preferred_categories_query(customer_id: int, now: dt.datetime, half_life_days: float,
                               window_days: int) -> tuple[str, list]:
    weights = event_weights()
    cases = " ".join(f"WHEN '{event}' THEN {float(weight)}" for event, weight in weights.items())
    return (
        f"""SELECT p.category_id,
                   sum((CASE e.event_type {cases} ELSE 0 END)
                       * power(0.5, extract(epoch FROM (%s - e.created_at))::float / 86400.0 / %s))::float AS weight
            FROM events_customerevent e JOIN {Product._meta.db_table} p ON p.id = e.product_id
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
        f"""SELECT e.product_id FROM events_customerevent e JOIN {Product._meta.db_table} p ON p.id = e.product_id
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


# Customers' product events that say something about their taste (what recommendations learn from).
INTERACTION_EVENTS = ("view", "add_to_cart", "purchase", "return")


def interaction_totals(weights: dict[str, float], since: dt.datetime, until: dt.datetime,
                       customer_id: int | None = None) -> list[tuple[int, int, float, bool]]:
    """(customer, product, summed weight, bought) per pair with events of the ``weights``' types in
    [since, until), of every customer or of one; "bought" counts a purchase or a return. One pass
    over the window's partitions."""
    cases = " ".join(f"WHEN '{event}' THEN {float(weight)}" for event, weight in weights.items())
    who = "customer_id = %s" if customer_id else "customer_id IS NOT NULL"
    return _rows(
        f"""SELECT customer_id, product_id, sum(CASE event_type {cases} END)::float4,
                   bool_or(event_type IN ('purchase', 'return'))
            FROM {CustomerEvent._meta.db_table}
            WHERE {who} AND product_id IS NOT NULL AND event_type = ANY(%s)
              AND created_at >= %s AND created_at < %s
            GROUP BY customer_id, product_id""",
        ([customer_id] if customer_id else []) + [list(weights), since, until],
    )


def interaction_log(since: dt.datetime) -> QuerySet:
    """Customers' product events of the ``INTERACTION_EVENTS`` types since ``since``, oldest first, as
    (customer, product, created_at, event type, quantity, price) tuples."""
    return (CustomerEvent.objects.filter(customer__isnull=False, product__isnull=False,
                                         event_type__in=INTERACTION_EVENTS, created_at__gte=since)
            .order_by("created_at")
            .values_list("customer_id", "product_id", "created_at", "event_type", "quantity", "price"))


# --- experiments ----------------------------------------------------------------------------------
# An experiment's unit is the shopper: the customer when the exposure event knows one, else the
# anonymous visitor id; its variant and exposure time are those of its first exposure in the window.


def first_exposures_query(experiment_key: str, since: dt.datetime, until: dt.datetime) -> tuple[str, list]:
    """Each shopper's first exposure to the experiment in [since, until).

    Columns: unit ('c<customer id>' or 'v<visitor id>'), customer_id, anonymous_id, variant, exposed_at.
    """
    return (
        f"""SELECT DISTINCT ON (unit) unit, customer_id, anonymous_id, variant, exposed_at
            FROM (SELECT coalesce('c' || customer_id::text, 'v' || anonymous_id::text) AS unit, customer_id,
                         anonymous_id, experiments ->> %s AS variant, created_at AS exposed_at
                  FROM {CustomerEvent._meta.db_table}
                  WHERE event_type = 'experiment_exposure' AND experiments ? %s
                    AND created_at >= %s AND created_at < %s
                    AND (customer_id IS NOT NULL OR anonymous_id IS NOT NULL)) AS e
            ORDER BY unit, exposed_at""",
        [experiment_key, experiment_key, since, until],
    )


def exposed_per_variant(experiment_key: str, *, since: dt.datetime, until: dt.datetime) -> dict[str, int]:
    """{variant: shoppers first exposed to it in [since, until)}: the units an experiment's metrics count."""
    sql, params = first_exposures_query(experiment_key, since, until)
    return dict(_rows(f"SELECT variant, count(*) FROM ({sql}) AS exposed GROUP BY variant", params))


def visitor_links_query() -> tuple[str, list]:
    """The anonymous visitor ids known to belong to customers (linked at login). Columns: customer_id,
    visitor_id."""
    return f"SELECT customer_id, visitor_id FROM {VisitorLink._meta.db_table}", []


def recommendation_engagement_per_variant(experiment_key: str, *, since: dt.datetime, until: dt.datetime,
                                          time_zone: str) -> list[tuple[str, dt.date, int, int]]:
    """(variant, day, impressions, clicks) of the recommendation events tagged with the experiment in
    [since, until), per variant and calendar day in ``time_zone``: its click-through."""
    return _rows(
        f"""SELECT experiments ->> %s, (created_at AT TIME ZONE %s)::date,
                   count(*) FILTER (WHERE event_type = 'recommendation_impression'),
                   count(*) FILTER (WHERE event_type = 'recommendation_click')
            FROM {CustomerEvent._meta.db_table}
            WHERE event_type IN ('recommendation_impression', 'recommendation_click') AND experiments ? %s
              AND created_at >= %s AND created_at < %s
            GROUP BY 1, 2""",
        [experiment_key, time_zone, experiment_key, since, until],
    )
