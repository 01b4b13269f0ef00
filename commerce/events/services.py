"""Recording and ingesting behavioural events (the queries the AI reads are in ``queries``).

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
from django.db import DataError, IntegrityError, connection, transaction
from django.utils import timezone
from django_redis import get_redis_connection
from redis.exceptions import LockError, RedisError

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
