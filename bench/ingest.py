"""Behavioural-event ingest benchmark: record → Redis → drain → partitioned table, and the aggregations.

``run()`` measures, against the development PostgreSQL and Redis (``vitrine.settings``):

(a) sustained ingest: ``BENCH_INGEST_EVENTS`` (default 200,000) events recorded with
    ``services.record()`` from ``BENCH_INGEST_RECORDERS`` (default 3, the Procfile's gunicorn
    ``--workers``) processes, as the web tier's workers record, while ``BENCH_INGEST_DRAINERS`` (default
    2) drainers drain concurrently. Each drainer is a
    subprocess (``python -m bench.ingest --drain``) calling ``services.drain_events()`` every
    ``BENCH_DRAIN_INTERVAL`` seconds (default 2.0, the beat schedule of the Celery task
    ``commerce.events.tasks.drain_events``; at once again when a drain took longer; 0 = poll
    continuously): what the task does, minus Celery. Reports the
    record() rate and per-call latency (p50/p99), the end-to-end sustained rate from the first record
    to the moment the last event is committed (queue and every processing list empty), each drainer's
    rows and throughput, and lost/duplicated counts from the rows carrying this run's marker
    (``surface = "bench:ingest:<run id>"``). And the CPU each event costs: the recorders' and the
    drainers' own (``time.process_time``), the drainers' PostgreSQL backends' (``/proc/<pid>/stat``;
    WAL writer and checkpointer not included) and Redis's (``INFO cpu``: the whole server, so other
    users of it count too), with the cores those costs add up to at 20,000 events/s.
(a′) each side alone, to locate a shortfall: ``BENCH_CAPACITY_EVENTS`` (default 100,000) events
    recorded from this process with no drainer running (record-only rate), then the
    ``BENCH_INGEST_DRAINERS`` drainers empty the backlog together (drain-only rate).
(b) killed drainer: ``BENCH_KILL_EVENTS`` (default 100,000; at least three drain batches, 15,000)
    events are recorded with ``services.record()`` and no drainer running, a drainer is started
    and SIGKILLed while its processing list is non-empty (after some batches were committed), a new
    drainer finishes the job; the rows with the marker must number exactly the events queued, with
    distinct ids. Reports the recovery time (the killed drainer's lease must expire before its batch
    is reclaimed; the new drainer drains the queue meanwhile).
(c) aggregation query times at ``BENCH_AGG_EVENTS`` (default 10,000,000) events, skipped when
    ``BENCH_SKIP_AGG=1``: the events are generated with set-based SQL into partitions of their own for
    a 90-day window in 2199 (Jan–Mar), over 100k product ids and 100k customer ids (85 % views, 9 %
    add-to-cart, 3 % purchases…), loaded before their indexes are built (ATTACH PARTITION builds them)
    and ANALYZEd; each query the shop runs on the events (the ``*_query`` helpers of
    ``commerce.events.services``: pricing's demand signals, a customer's preferred categories and
    recently viewed products, popular products) is then run through a cursor (no cache) with
    ``now`` = the end of that window, median of 5 runs after one warm-up. The window is as real to
    the planner as the last 90 days (every query bounds created_at with literals and prunes to the
    window's partitions) but deleting it is a DROP of three tables (timed), not a DELETE through demo
    data.

Every row created is removed again (by marker, or by dropping the bench partitions), including those
left by an interrupted earlier run. Run on its own with ``python -m bench ingest``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import select
import signal
import statistics
import subprocess
import sys
import time
import uuid
from decimal import Decimal

from bench import percentile

# Bench partitions for (c): a window nobody else uses, named like every monthly partition so the
# retention task can parse (and will never drop) them.
AGG_MONTHS = [dt.date(2199, 1, 1), dt.date(2199, 2, 1), dt.date(2199, 3, 1)]
AGG_END = dt.datetime(2199, 4, 1, tzinfo=dt.UTC)  # "now" for the aggregations
AGG_MARKER = "bench:agg"
AGG_PRODUCTS = AGG_CUSTOMERS = 100_000
POLL_S = 0.002
KINDS = ("view",) * 17 + ("add_to_cart", "add_to_cart", "purchase")  # a shopper's mix of events
PRICE = Decimal("19.99")
WEB_WORKERS = 3  # the Procfile's gunicorn --workers: the processes that record a web tier's events


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


# --- the drainer subprocess ---------------------------------------------------------------------------


def _drain_forever() -> None:
    """``python -m bench.ingest --drain``: drain until SIGTERM; one JSON line per non-empty drain."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vitrine.settings")
    import django

    django.setup()
    from django.db import connection
    from redis.exceptions import RedisError

    from commerce.events import services

    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    connection.ensure_connection()
    services.redis_client().ping()
    interval = float(os.environ.get("BENCH_DRAIN_INTERVAL", "2.0"))
    print("ready", flush=True)
    if os.environ.get("BENCH_DRAIN_AWAIT_GO"):  # Drainer below: several start together, each set up
        sys.stdin.readline()
    while not stopping:
        started, cpu, backend = time.monotonic(), time.process_time(), _backend_cpu()
        try:
            inserted = services.drain_events()
        except RedisError as error:  # e.g. the shared Redis stalled past the socket timeout: as the beat
            print(f"drain failed, retrying: {error!r}", file=sys.stderr, flush=True)  # would, try again
            inserted = 0
        if inserted:
            backend_after = _backend_cpu()
            print(json.dumps({"inserted": inserted, "seconds": time.monotonic() - started,
                              "finished": time.time(), "cpu": time.process_time() - cpu,
                              "postgres_cpu": backend_after - backend
                              if backend is not None and backend_after is not None else None}), flush=True)
        # The beat's cadence: the next drain starts ``interval`` after this one started (at once if
        # the drain took longer); 0 polls continuously.
        time.sleep(max(0.005 if not inserted else 0.0, started + interval - time.monotonic()))


def _backend_cpu() -> float | None:
    """CPU seconds this process's PostgreSQL backend has used; None where its /proc is not readable (a
    server on another machine)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _record_range(start: int, count: int, marker: str) -> None:
    """``python -m bench.ingest --record START COUNT MARKER``: one web worker's share of the events,
    recorded with ``services.record``; prints its timings as one JSON line."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vitrine.settings")
    import django

    django.setup()
    from commerce.events import services

    services.redis_client().ping()
    latencies = [0.0] * count
    perf = time.perf_counter
    cpu = time.process_time()
    first = perf()
    for i, n in enumerate(range(start, start + count)):
        t = perf()
        _record(services, n, marker)
        latencies[i] = perf() - t
    print(json.dumps({"seconds": perf() - first, "started": time.time() - (perf() - first),
                      "cpu": time.process_time() - cpu,
                      "p50": percentile(latencies, 50), "p99": percentile(latencies, 99),
                      "max": max(latencies)}), flush=True)


class Drainer:
    def __init__(self, *, go: bool = True):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.ingest", "--drain"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "BENCH_DRAIN_AWAIT_GO": "1",
                 "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "vitrine.settings")},
        )
        ready, _, _ = select.select([self.process.stdout], [], [], 120)
        line = self.process.stdout.readline() if ready else ""
        if line.strip() != "ready":
            self.kill()
            raise RuntimeError(f"drainer did not start (got {line!r})")
        if go:
            self.go()

    def go(self) -> None:
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def stop(self) -> list[dict]:
        """SIGTERM, wait, and return the drainer's per-drain statistics."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=120)
        return [json.loads(line) for line in out.splitlines() if line.startswith("{")]

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)


# --- helpers ----------------------------------------------------------------------------------------


def _wait_until_drained(timeout: float, clock=time.perf_counter) -> float:
    """Poll Redis until the queue and every processing list are empty; return that moment."""
    from redis.exceptions import RedisError

    from commerce.events import services

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            depth = services.queue_depth()
        except RedisError:  # the shared Redis stalled for a moment: ask again
            continue
        if depth["queued"] == 0 and depth["processing"] == 0:
            return clock()
        time.sleep(POLL_S)
    raise TimeoutError(f"events still queued after {timeout:.0f} s: {services.queue_depth()}")


def _count(marker: str, since: dt.datetime) -> tuple[int, int]:
    """(rows, distinct ids) carrying ``marker``; ``since`` bounds the scan to this run's partitions."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("""SELECT count(*), count(DISTINCT id) FROM events_customerevent
                          WHERE surface = %s AND created_at >= %s""", [marker, since])
        return cursor.fetchone()


def _delete(marker: str, since: dt.datetime) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM events_customerevent WHERE surface = %s AND created_at >= %s",
                       [marker, since])
        return cursor.rowcount


def _wait_for_no_drainer(timeout: float = 120) -> None:
    """Another drainer (a leftover, a Celery beat) draining alongside would distort the timings."""
    from commerce.events import services

    deadline = time.monotonic() + timeout
    while services.live_drainers() and time.monotonic() < deadline:
        time.sleep(0.1)


def _redis_cpu() -> float:
    from commerce.events import services

    info = services.redis_client().info("cpu")
    return info["used_cpu_sys"] + info["used_cpu_user"]


def _record(services, n: int, marker: str, kind: str | None = None) -> None:
    """Record the run's event ``n`` as a request does: ``services.record`` (checked, one RPUSH)."""
    services.record(kind or KINDS[n % len(KINDS)], customer_id=1 + n % 5000, visitor_id=uuid.UUID(int=n + 1),
                    product_id=1 + (n * 7919) % 2000, price=PRICE, surface=marker, session_id=f"bench{n // 8}")


# --- (a) sustained ingest ---------------------------------------------------------------------------


def sustained_ingest(events: int, recorders: int, drainers: int) -> dict:
    from django.utils import timezone

    from commerce.events import services

    marker = f"bench:ingest:{uuid.uuid4().hex[:8]}"
    since = timezone.now() - dt.timedelta(minutes=1)
    _wait_for_no_drainer()
    depth_before = services.queue_depth()
    running = []
    stats: list[list[dict]] = []
    try:
        running = [Drainer() for _ in range(drainers)]
        redis_cpu = _redis_cpu()
        # Several recorders, as several gunicorn workers would record, each its share of the events.
        share = -(-events // recorders)
        processes = [
            subprocess.Popen([sys.executable, "-m", "bench.ingest", "--record", str(i * share),
                              str(min(share, events - i * share)), marker], stdout=subprocess.PIPE, text=True)
            for i in range(recorders) if i * share < events
        ]
        shares = [json.loads(p.communicate(timeout=900)[0].strip().splitlines()[-1]) for p in processes]
        first = min(share["started"] for share in shares)  # from the first record() call, not process start
        recorded = max(share["started"] + share["seconds"] for share in shares)
        done = _wait_until_drained(timeout=600, clock=time.time)
        redis_cpu = _redis_cpu() - redis_cpu
        stats = [drainer.stop() for drainer in running]
    finally:
        for drainer in running:
            drainer.kill()
    rows, distinct = _count(marker, since)
    deleted = _delete(marker, since)
    drains = [drain for drainer in stats for drain in drainer]
    busy = sum(s["seconds"] for s in drains)
    drained = sum(s["inserted"] for s in drains)
    postgres = [s["postgres_cpu"] for s in drains]
    cpu_us = {  # per event
        "record": sum(share["cpu"] for share in shares) / events * 1e6,
        "drain": sum(s["cpu"] for s in drains) / drained * 1e6 if drained else None,
        "postgres": sum(postgres) / drained * 1e6 if drained and None not in postgres else None,
        "redis": redis_cpu / events * 1e6,
    }
    return {
        "events": events,
        "marker": marker,
        "drainer": f"{drainers} subprocesses each calling services.drain_events() every "
                   f"{os.environ.get('BENCH_DRAIN_INTERVAL', '2.0')} s (the beat cadence; no Celery)",
        "queue_before": depth_before,
        "record_seconds": round(recorded - first, 2),
        "record_per_s": round(events / (recorded - first)),
        "recorders": len(shares),
        "record_us_p50": round(statistics.median(share["p50"] for share in shares) * 1e6, 1),
        "record_us_p99": round(max(share["p99"] for share in shares) * 1e6, 1),
        "record_us_max": round(max(share["max"] for share in shares) * 1e6, 1),
        "end_to_end_seconds": round(done - first, 2),
        "sustained_events_per_s": round(events / (done - first)),
        "drain_lag_after_last_record_s": round(done - recorded, 2),
        "drainers": drainers,
        "drainer_rows": drained,
        "rows_per_drainer": [sum(s["inserted"] for s in drainer) for drainer in stats],
        "drainer_busy_seconds": round(busy, 2),
        "drainer_events_per_busy_s": round(drained / busy) if busy else None,
        "cpu_us_per_event": {part: round(us, 1) if us is not None else None for part, us in cpu_us.items()},
        # What 20,000 events/s costs in CPU at these per-event costs, ignoring everything else on the box.
        "cores_for_20k_per_s": round(sum(us for us in cpu_us.values() if us is not None) * 20_000 / 1e6, 2),
        "rows": rows,
        "lost": events - distinct,
        "duplicated": rows - distinct,
        "rows_deleted_after": deleted,
    }


# --- (a′) each side alone ------------------------------------------------------------------------------


def capacities(events: int, drainers: int) -> dict:
    """Record ``events`` with no drainer running, then time ``drainers`` drainers emptying that backlog:
    what each side manages without the other competing for the CPU."""
    from django.utils import timezone

    from commerce.events import services

    marker = f"bench:capacity:{uuid.uuid4().hex[:8]}"
    since = timezone.now() - dt.timedelta(minutes=1)
    _wait_for_no_drainer()
    perf = time.perf_counter
    latencies = [0.0] * events
    cpu = time.process_time()
    first = perf()
    for n in range(events):
        t = perf()
        _record(services, n, marker, "view")
        latencies[n] = perf() - t
    recorded = perf()
    cpu = time.process_time() - cpu
    running = []
    try:
        running = [Drainer(go=False) for _ in range(drainers)]  # each set up before the clock starts
        started = perf()
        for drainer in running:
            drainer.go()
        done = _wait_until_drained(timeout=600)
        for drainer in running:
            drainer.stop()
    finally:
        for drainer in running:
            drainer.kill()
    rows, distinct = _count(marker, since)
    _delete(marker, since)
    return {
        "events": events,
        "record_only_per_s": round(events / (recorded - first)),
        "record_only_us_p50": round(percentile(latencies, 50) * 1e6, 1),
        "record_only_us_p99": round(percentile(latencies, 99) * 1e6, 1),
        "record_only_cpu_us": round(cpu / events * 1e6, 1),
        "drainers": drainers,
        "drain_only_per_s": round(events / (done - started)),
        "lost": events - distinct,
        "duplicated": rows - distinct,
    }


# --- (b) killed drainer -----------------------------------------------------------------------------


def killed_drainer(events: int) -> dict:
    from django.utils import timezone

    from commerce.events import services

    marker = f"bench:kill:{uuid.uuid4().hex[:8]}"
    since = timezone.now() - dt.timedelta(minutes=1)
    _wait_for_no_drainer()
    client = services.redis_client()
    for n in range(events):
        _record(services, n, marker)
    queued = client.llen(services.QUEUE_KEY)

    first = Drainer()
    at_kill: dict = {}
    try:
        threshold = queued - 2 * services.DRAIN_BATCH_SIZE  # kill once a few batches are through
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            depth = services.queue_depth()
            in_queue, processing = depth["queued"], depth["processing"]
            if processing > 0 and in_queue <= threshold:
                first.process.send_signal(signal.SIGKILL)
                killed = time.perf_counter()
                at_kill = {"queued": in_queue, "processing": processing}
                break
            time.sleep(0.0005)
        else:
            raise RuntimeError("the drainer never had a batch in flight to be killed in")
    finally:
        first.kill()
    at_kill["rows_committed"] = _count(marker, since)[0]
    at_kill["processing_after_kill"] = services.queue_depth()["processing"]
    lease_ttl = max((client.pttl(services.LEASE_PREFIX + drainer.decode())
                     for drainer in client.smembers(services.DRAINERS_KEY)), default=None)

    second = Drainer()
    try:
        done = _wait_until_drained(timeout=600)
        stats = second.stop()
    finally:
        second.kill()
    rows, distinct = _count(marker, since)
    deleted = _delete(marker, since)
    return {
        "events": events,
        "marker": marker,
        "at_kill": at_kill,
        "killed_drainer_lease_left_at_kill_s": round(lease_ttl / 1000, 1) if lease_ttl and lease_ttl > 0 else None,
        "recovery_seconds": round(done - killed, 2),
        "second_drainer_rows": sum(s["inserted"] for s in stats),
        "rows": rows,
        "lost": events - distinct,
        "duplicated": rows - distinct,
        "rows_deleted_after": deleted,
    }


# --- (c) aggregations at scale ----------------------------------------------------------------------


def _drop_agg_partitions(cursor) -> float:
    from commerce.events import partitions

    started = time.perf_counter()
    present = set(partitions.existing_partitions())
    for month in AGG_MONTHS:
        name = partitions.partition_name(month)
        if name in present:
            cursor.execute(f"DROP TABLE {name}")
    cursor.execute("DROP TABLE IF EXISTS bench_products")
    return time.perf_counter() - started


def _load_agg_events(cursor, events: int) -> dict:
    """Create, fill, attach (building the indexes) and analyse one partition per month of the window.

    Product ids are 100k "slots" with a skewed popularity (slot = 1 + ⌊100k·u²⌋); slots map onto the
    catalogue's real products (in id order) as far as it has any, and onto ids past the largest
    product id after that, so the joins with catalogue_product in preferred_categories and
    popular_products see real products without the bench creating any.
    """
    from commerce.events import partitions

    timings = {}
    window_days = (AGG_END.date() - AGG_MONTHS[0]).days
    cursor.execute("SET maintenance_work_mem = '1GB'")
    cursor.execute("SET synchronous_commit = off")
    cursor.execute(
        """CREATE TEMP TABLE bench_products AS
           SELECT g.slot, coalesce(p.id, top.id + g.slot) AS product_id
           FROM generate_series(1, %s) AS g(slot)
           LEFT JOIN (SELECT id, row_number() OVER (ORDER BY id) AS slot FROM catalogue_product) p
                USING (slot)
           CROSS JOIN (SELECT coalesce(max(id), 0) AS id FROM catalogue_product) top""",
        [AGG_PRODUCTS],
    )
    cursor.execute("ALTER TABLE bench_products ADD PRIMARY KEY (slot)")
    cursor.execute("ANALYZE bench_products")
    cursor.execute("SELECT count(*) FROM catalogue_product")
    timings["catalogue_products_used"] = min(AGG_PRODUCTS, cursor.fetchone()[0])
    for month in AGG_MONTHS:
        name = partitions.partition_name(month)
        upper = partitions.add_months(month, 1)
        days = (upper - month).days
        rows = round(events * days / window_days)
        started = time.perf_counter()
        cursor.execute(f"CREATE TABLE {name} (LIKE {partitions.TABLE} INCLUDING DEFAULTS)")
        cursor.execute(
            f"""INSERT INTO {name} (id, created_at, event_type, customer_id, anonymous_id, session_id,
                                    product_id, quantity, price, surface)
                SELECT gen_random_uuid(), ts, kind,
                       CASE WHEN r2 < 0.8 THEN 1 + floor(r3 * %(customers)s)::bigint END,
                       CASE WHEN r2 >= 0.6 THEN gen_random_uuid() END,
                       'bench' || (n / 6), bp.product_id, 1 + (r3 > 0.9)::int, 19.99, %(marker)s
                FROM (
                    SELECT n, r2, r3,
                           %(lower)s::timestamptz
                               + random() * (%(upper)s::timestamptz - %(lower)s::timestamptz) AS ts,
                           CASE WHEN r1 < 0.85 THEN 'view' WHEN r1 < 0.94 THEN 'add_to_cart'
                                WHEN r1 < 0.955 THEN 'remove_from_cart' WHEN r1 < 0.985 THEN 'purchase'
                                WHEN r1 < 0.99 THEN 'return' ELSE 'search' END AS kind,
                           CASE WHEN r1 < 0.99 THEN 1 + floor(%(products)s * power(random(), 2))::int
                           END AS slot
                    FROM (SELECT n, random() AS r1, random() AS r2, random() AS r3
                          FROM generate_series(1, %(rows)s) AS n) AS g
                ) AS e
                LEFT JOIN bench_products bp USING (slot)""",
            {"customers": AGG_CUSTOMERS, "products": AGG_PRODUCTS, "marker": AGG_MARKER, "rows": rows,
             "lower": month.isoformat(), "upper": upper.isoformat()},
        )
        loaded = time.perf_counter()
        # A CHECK matching the bounds spares ATTACH its validation scan; ATTACH builds the indexes.
        cursor.execute(f"""ALTER TABLE {name} ADD CONSTRAINT {name}_bench_bounds
                           CHECK (created_at >= %s AND created_at < %s)""",
                       [month.isoformat(), upper.isoformat()])
        cursor.execute(f"ALTER TABLE {partitions.TABLE} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)",
                       [month.isoformat(), upper.isoformat()])
        cursor.execute(f"ALTER TABLE {name} DROP CONSTRAINT {name}_bench_bounds")
        attached = time.perf_counter()
        cursor.execute(f"ANALYZE {name}")
        timings[name] = {"rows": rows, "insert_s": round(loaded - started, 1),
                         "attach_and_index_s": round(attached - loaded, 1),
                         "analyze_s": round(time.perf_counter() - attached, 1)}
    return timings


def aggregations(events: int, runs: int = 5) -> dict:
    from django.db import connection

    from commerce.catalogue.models import Category
    from commerce.events import queries as event_queries

    result: dict = {"events": events}
    with connection.cursor() as cursor:
        _drop_agg_partitions(cursor)  # leftovers of an interrupted run
        started = time.perf_counter()
        try:
            result["load"] = _load_agg_events(cursor, events)
            result["load_seconds"] = round(time.perf_counter() - started, 1)
            cursor.execute("""SELECT customer_id FROM events_customerevent
                              WHERE created_at >= %s AND created_at < %s AND customer_id IS NOT NULL
                              LIMIT 1""",
                           [AGG_END - dt.timedelta(days=1), AGG_END])
            customer_id = cursor.fetchone()[0]
            department = Category.objects.filter(parent=None).order_by("sort_order", "pk").first()
            some_categories = department.descendant_ids() if department else []
            queries = {
                "product_demand (8 days; pricing's demand signals)": event_queries.product_demand_query(AGG_END),
                "preferred_categories (1 customer, 90 days)": event_queries.preferred_categories_query(
                    customer_id, AGG_END, 14, 90),
                "recently_viewed (1 customer, 30 days)": event_queries.recently_viewed_query(
                    AGG_END, customer_id, None, 30, 12),
                "popular_products (all, 7 days)": event_queries.popular_products_query(AGG_END, None, 7, 20),
            }
            if some_categories:
                queries["popular_products (1 department, 7 days)"] = event_queries.popular_products_query(
                    AGG_END, some_categories, 7, 20)
            timings = {}
            for label, (sql, params) in queries.items():
                samples, rows = [], 0
                for attempt in range(runs + 1):  # one warm-up, then ``runs`` timed
                    t = time.perf_counter()
                    cursor.execute(sql, params)
                    rows = len(cursor.fetchall())
                    if attempt:
                        samples.append(time.perf_counter() - t)
                timings[label] = {"median_ms": round(statistics.median(samples) * 1000, 1),
                                  "min_ms": round(min(samples) * 1000, 1),
                                  "max_ms": round(max(samples) * 1000, 1), "rows": rows}
            result["queries"] = timings
        finally:
            result["drop_seconds"] = round(_drop_agg_partitions(cursor), 2)
            cursor.execute("RESET maintenance_work_mem")
            cursor.execute("RESET synchronous_commit")
    return result


# --- entry points -----------------------------------------------------------------------------------


def run() -> dict:
    drainers = _env_int("BENCH_INGEST_DRAINERS", 2)
    results = {"sustained": sustained_ingest(_env_int("BENCH_INGEST_EVENTS", 200_000),
                                             _env_int("BENCH_INGEST_RECORDERS", WEB_WORKERS), drainers),
               "each_side_alone": capacities(_env_int("BENCH_CAPACITY_EVENTS", 100_000), drainers),
               "killed_drainer": killed_drainer(_env_int("BENCH_KILL_EVENTS", 100_000))}
    if os.environ.get("BENCH_SKIP_AGG", "").strip().lower() in {"1", "true", "yes", "on"}:
        results["aggregations"] = "skipped (BENCH_SKIP_AGG)"
    else:
        results["aggregations"] = aggregations(_env_int("BENCH_AGG_EVENTS", 10_000_000))
    return results


if __name__ == "__main__":
    if sys.argv[1:] == ["--drain"]:
        _drain_forever()
    elif sys.argv[1:2] == ["--record"]:
        _record_range(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    else:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vitrine.settings")
        import django

        django.setup()
        print(json.dumps(run(), indent=2, default=str))
