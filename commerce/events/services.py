"""Recording and ingesting behavioural events (the queries the AI reads are in ``queries``).

Recording is a Redis RPUSH (microseconds; the request never waits on PostgreSQL). ``drain_events``
moves queued events into the partitioned table in batches, and any number of drainers may run at once:
each registers under an id of its own with a lease that a heartbeat renews while it runs, moves its batch
atomically from the queue to a processing list of its own, COPYs it into a staging table and inserts it
with ``ON CONFLICT DO NOTHING`` in one transaction, and only then removes it from Redis. A drainer killed at
any point leaves its batch in its processing list; once its lease has expired (never while it runs)
another drainer reclaims the batch, and replaying it inserts nothing twice. If Redis is unreachable,
``record`` writes the event straight to PostgreSQL.

Nothing may stop the drain: ``record`` refuses an event PostgreSQL could not store, and an item that
reaches the queue anyway (unreadable, unstorable, or rejected by PostgreSQL: a batch it rejects is split
until the rejected events are found) moves to the dead-letter list with its reason, while the rest of
its batch is stored. ``manage.py dead_letter_events`` lists, replays and purges that list.
"""

import datetime as dt
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal

import psycopg
from django.db import DataError, IntegrityError, connection, transaction
from django.utils import timezone
from django_redis import get_redis_connection
from redis.exceptions import RedisError, ResponseError

from commerce.events.models import CustomerEvent, VisitorLink
from commerce.events.validation import check_storable, repaired

logger = logging.getLogger(__name__)

QUEUE_KEY = "vitrine:events:queue"
DEAD_LETTER_KEY = "vitrine:events:dead"
# Drainer ``<id>`` holds its batch in PROCESSING_PREFIX + id while LEASE_PREFIX + id exists; DRAINERS_KEY is
# the set of ids that may still hold a processing list, so nothing has to SCAN for them.
PROCESSING_PREFIX = "vitrine:events:processing:"
LEASE_PREFIX = "vitrine:events:drainer:"
DRAINERS_KEY = "vitrine:events:drainers"
# The single processing list and lock of the drainers that took turns before drainers ran concurrently:
# a batch one of them left there is reclaimed like a dead drainer's once that lock has expired.
PROCESSING_KEY = "vitrine:events:processing"
DRAIN_LOCK_KEY = "vitrine:events:drain-lock"
# Measured (bench/ingest.py): 5,000 events COPY + insert in ≈ 0.15 s; small enough that a batch
# replayed after a crash is cheap, large enough that per-batch overhead stays under 10%.
DRAIN_BATCH_SIZE = 5000
# A killed drainer's heartbeat stops and its lease expires after this many seconds: its batch waits at
# most this long to be reclaimed. The heartbeat renews it three times per lease.
DRAIN_LEASE_SECONDS = 15
COLUMNS = ("id", "created_at", "event_type", "customer_id", "anonymous_id", "session_id", "product_id",
           "quantity", "price", "surface", "experiments", "query")
COLUMN_DEFAULTS = {"session_id": "", "quantity": 1, "surface": "", "query": ""}
# PostgreSQL refusing a value: psycopg raises these from COPY, Django's wrappers from the INSERT; a
# string psycopg cannot encode (a lone surrogate) raises ValueError before anything is sent. Anything
# else (PostgreSQL down) leaves the batch in the processing list to be retried.
REJECTED = (psycopg.DataError, psycopg.IntegrityError, DataError, IntegrityError, ValueError)

# Lua's unpack() has a stack limit of a few thousand values: lists are pushed in slices of this many.
_PUSH_ALL = """
local function push_all(key, items)
  for i = 1, #items, 1000 do
    redis.call('RPUSH', key, unpack(items, i, math.min(i + 999, #items)))
  end
end
"""
# KEYS: queue, own processing list, own lease; ARGV: batch size, lease ms. Renews the lease and moves up
# to a batch from the queue's head to the processing list; an error if the lease has expired.
_CLAIM = _PUSH_ALL + """
if redis.call('PEXPIRE', KEYS[3], ARGV[2]) == 0 then return redis.error_reply('LEASE_LOST') end
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items > 0 then
  push_all(KEYS[2], items)
  redis.call('LTRIM', KEYS[1], #items, -1)
end
return items
"""
# KEYS: the other drainer's processing list and lease, own processing list and lease, the drainers set;
# ARGV: the other drainer's id, lease ms. Moves the other's batch to our list only if its lease is gone.
_RECLAIM = _PUSH_ALL + """
if redis.call('EXISTS', KEYS[2]) == 1 then return {} end
if redis.call('PEXPIRE', KEYS[4], ARGV[2]) == 0 then return redis.error_reply('LEASE_LOST') end
local items = redis.call('LRANGE', KEYS[1], 0, -1)
if #items > 0 then
  push_all(KEYS[3], items)
  redis.call('DEL', KEYS[1])
end
redis.call('SREM', KEYS[5], ARGV[1])
return items
"""
# KEYS: own processing list, own lease, the dead-letter list; ARGV: the batch's dead letters. Only while
# the lease holds: once it expired, another drainer may have reclaimed (and will dead-letter) the batch.
_ACKNOWLEDGE = _PUSH_ALL + """
if redis.call('EXISTS', KEYS[2]) == 0 then return redis.error_reply('LEASE_LOST') end
if #ARGV > 0 then push_all(KEYS[3], ARGV) end
redis.call('DEL', KEYS[1])
return 1
"""
# KEYS: own processing list, own lease, the drainers set; ARGV: own id. A batch still listed (its store
# failed) becomes reclaimable at once.
_RELEASE = """
redis.call('DEL', KEYS[2])
if redis.call('LLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[3], ARGV[1]) end
return 1
"""


class LeaseLost(Exception):
    """The drainer's lease expired: its batch may be another drainer's now."""


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

    Any number of drainers may run at once: each claims batches of its own, and first reclaims the
    batches of drainers whose lease has expired. Returns rows inserted.
    """
    inserted = 0
    try:
        with Drainer(redis_client()) as drainer:
            deadline = time.monotonic() + time_budget
            while time.monotonic() < deadline:
                batch = drainer.reclaim() or drainer.claim(batch_size)
                if not batch:
                    break
                inserted += drainer.store_and_acknowledge(batch)
    except LeaseLost:
        logger.error("event drainer lost its lease mid-drain; its unacknowledged batch is reclaimed by another")
    return inserted


class Drainer:
    """One drainer: its id, its lease (renewed by a heartbeat thread while the ``with`` block runs) and its
    processing list, which holds at most one batch: the one taken and not yet acknowledged."""

    def __init__(self, client, lease_seconds: float = DRAIN_LEASE_SECONDS):
        self.client = client
        self.id = uuid.uuid4().hex
        self.processing_key = PROCESSING_PREFIX + self.id
        self.lease_key = LEASE_PREFIX + self.id
        self.lease_ms = int(lease_seconds * 1000)
        self._claim = client.register_script(_CLAIM)
        self._reclaim = client.register_script(_RECLAIM)
        self._acknowledge = client.register_script(_ACKNOWLEDGE)
        self._stopping = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def __enter__(self) -> "Drainer":
        self.register()
        self._heartbeat = threading.Thread(target=self._renew_until_stopped, name=f"drainer-{self.id[:8]}",
                                           daemon=True)
        self._heartbeat.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stopping.set()
        self._heartbeat.join()
        self.release()

    def register(self) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.set(self.lease_key, 1, px=self.lease_ms)
        pipe.sadd(DRAINERS_KEY, self.id)
        pipe.execute()

    def release(self) -> None:
        self.client.eval(_RELEASE, 3, self.processing_key, self.lease_key, DRAINERS_KEY, self.id)

    def _renew_until_stopped(self) -> None:
        while not self._stopping.wait(self.lease_ms / 3000):
            try:
                if not self.client.pexpire(self.lease_key, self.lease_ms):
                    return  # expired already: the next claim or acknowledgement says so
            except RedisError as error:
                logger.warning("event drainer %s could not renew its lease: %s", self.id[:8], error)

    def claim(self, batch_size: int) -> list[bytes]:
        """Move up to ``batch_size`` events from the queue to this drainer's processing list."""
        return self._run(self._claim, [QUEUE_KEY, self.processing_key, self.lease_key], [batch_size, self.lease_ms])

    def reclaim(self) -> list[bytes]:
        """Take over the batch of one drainer whose lease has expired (or of a drainer from before
        drainers ran concurrently, once its lock expired); [] if there is none."""
        orphans = [(other, PROCESSING_PREFIX + other, LEASE_PREFIX + other)
                   for other in sorted(raw.decode() for raw in self.client.smembers(DRAINERS_KEY)) if other != self.id]
        orphans.append(("", PROCESSING_KEY, DRAIN_LOCK_KEY))
        pipe = self.client.pipeline(transaction=False)
        for _, processing_key, lease_key in orphans:
            pipe.exists(lease_key)
            pipe.exists(processing_key)
        found = pipe.execute()
        for (other, processing_key, lease_key), alive, listed in zip(orphans, found[::2], found[1::2], strict=True):
            if alive or not (listed or other):  # a dead drainer's id goes from the set even with no batch
                continue
            batch = self._run(self._reclaim, [processing_key, lease_key, self.processing_key, self.lease_key,
                                              DRAINERS_KEY], [other, self.lease_ms])
            if batch:
                logger.warning("replaying %d events left by an interrupted drainer", len(batch))
                return batch
        return []

    def store_and_acknowledge(self, raw_events: list[bytes]) -> int:
        """Store the claimed batch, then remove it from the processing list with its dead letters."""
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
        inserted = _store_isolating_rejects(events, dead) if events else 0
        # The dead letters go with the acknowledgement, so a replayed batch does not dead-letter its
        # events twice.
        self._run(self._acknowledge, [self.processing_key, self.lease_key, DEAD_LETTER_KEY],
                  [letter.dumps() for letter in dead])
        if dead:
            logger.error("moved %d queued events PostgreSQL cannot store to %s (first: %s); see manage.py "
                         "dead_letter_events", len(dead), DEAD_LETTER_KEY, dead[0].reason)
        return inserted

    @staticmethod
    def _run(script, keys: list[str], args: list):
        try:
            return script(keys=keys, args=args)
        except ResponseError as error:
            if "LEASE_LOST" in str(error):
                raise LeaseLost(str(error)) from None
            raise


def _store_isolating_rejects(events: list[tuple[bytes, dict]], dead: list["DeadLetter"]) -> int:
    """Store ``events`` ((raw, parsed) pairs); if PostgreSQL rejects them, store each half on its own,
    down to the single events it rejects, which are added to ``dead``. Returns the rows inserted."""
    try:
        return store_events([event for _, event in events])
    except REJECTED as error:
        if len(events) == 1:
            dead.append(DeadLetter.of(events[0][0], "rejected by PostgreSQL: " + " ".join(str(error).split())))
            return 0
        middle = len(events) // 2
        return _store_isolating_rejects(events[:middle], dead) + _store_isolating_rejects(events[middle:], dead)


def queue_depth(client=None) -> dict[str, int]:
    """Events waiting in the queue, taken by drainers and not yet committed (every processing list), and
    dead-lettered. ``client``: a Redis client other than the configured one (e.g. a bench's)."""
    client = client or redis_client()
    drainers = sorted(raw.decode() for raw in client.smembers(DRAINERS_KEY))
    pipe = client.pipeline(transaction=False)
    pipe.llen(QUEUE_KEY)
    pipe.llen(DEAD_LETTER_KEY)
    pipe.llen(PROCESSING_KEY)
    for drainer in drainers:
        pipe.llen(PROCESSING_PREFIX + drainer)
    queued, dead, *processing = pipe.execute()
    return {"queued": queued, "processing": sum(processing), "dead": dead}


def live_drainers(client=None) -> int:
    """How many drainers hold a lease now (a killed one counts until its lease expires)."""
    client = client or redis_client()
    pipe = client.pipeline(transaction=False)
    for drainer in client.smembers(DRAINERS_KEY):
        pipe.exists(LEASE_PREFIX + drainer.decode())
    pipe.exists(DRAIN_LOCK_KEY)
    return sum(pipe.execute())


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
