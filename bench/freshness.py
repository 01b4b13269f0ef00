"""How soon a shopper's own carousel changes after an add-to-cart, over HTTP, with a real web process and a
real Celery worker on the realtime queue, in a scratch database and the bench's own Redis (as
``bench/pages.py``, whose processes and setup this reuses).

    python -m bench freshness

1. Setup (a subprocess): ``bench.pages``'s shop, search index and model (``BENCH_PAGES_PRODUCTS``, 500 by
   default here, and ``BENCH_PAGES_CUSTOMERS``, 100), plus a page whose only block is a personalised
   RecommendationCarouselBlock (8 products), and a signed-in session for each of ``BENCH_FRESHNESS_SHOPPERS``
   (20) customers with a precomputed list.
2. gunicorn (``bench.pages.start_gunicorn``) and ``celery worker --queues realtime --concurrency 1``.
3. For each shopper, signed in and anonymous (a new visitor) in turn: GET the page (cookies), GET its
   carousel's fragment, POST /cart/add/ with the fragment's first product, then GET the fragment every
   ``BENCH_FRESHNESS_POLL_MS`` (20) ms until its HTML differs: the delay from the add-to-cart's response
   to that fragment's, at most ``BENCH_FRESHNESS_TIMEOUT`` (10) s. One shopper of each kind first, unrecorded
   (the worker reads the model's factors once). p50/p95/max per kind; the target is p95 <= 1 s.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from bench import pages, percentile

SHOPPERS = int(os.environ.get("BENCH_FRESHNESS_SHOPPERS", "20"))
POLL_SECONDS = int(os.environ.get("BENCH_FRESHNESS_POLL_MS", "20")) / 1000
TIMEOUT = float(os.environ.get("BENCH_FRESHNESS_TIMEOUT", "10"))
PRODUCTS = os.environ.get("BENCH_PAGES_PRODUCTS", "500")
CUSTOMERS = os.environ.get("BENCH_PAGES_CUSTOMERS", "100")
SLUG = "bench-freshness"
PRODUCT_ID = re.compile(r'data-product-id="(\d+)"')
TARGET_P95_S = 1.0


def setup() -> dict:
    from django.conf import settings
    from django.test import Client
    from django.urls import reverse

    from commerce.customers.models import Customer
    from home.models import ContentPage, HomePage

    prepared = pages.setup()
    page = ContentPage(title="Bench: freshness", slug=SLUG, intro="A page for bench/freshness.py.", live=False,
                       body=[("recommendations", {"title": "Picked for you", "strategy": "personalised", "count": 8,
                                                  "category": None, "product": None, "fallback": "trending"})])
    HomePage.objects.first().add_child(instance=page)
    page.save_revision().publish()
    page.refresh_from_db()
    sessions = []
    for customer in Customer.objects.filter(pk__in=prepared["customers"][:SHOPPERS + 1]).select_related("user"):
        client = Client()
        client.force_login(customer.user)
        sessions.append(client.cookies[settings.SESSION_COOKIE_NAME].value)
    return {"page": page.url, "fragment": reverse("blocks:fragment", kwargs={"page_id": page.pk,
                                                                             "block_id": page.body[0].id}),
            "sessions": sessions, "session_cookie": settings.SESSION_COOKIE_NAME,
            "csrf_cookie": settings.CSRF_COOKIE_NAME, "products": prepared["products"], "model": prepared["model"]}


def start_worker(env: dict, directory: Path) -> subprocess.Popen:
    log = directory / "worker.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "vitrine", "worker", "--queues", "realtime", "--concurrency", "1",
         "--loglevel", "INFO", "--logfile", str(log)], cwd=pages.ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None or (log.exists() and "ready." in log.read_text()):
            break
        time.sleep(0.2)
    if process.poll() is not None or "ready." not in log.read_text():
        pages.stop(process)
        raise RuntimeError(f"the worker did not start: {log.read_text()[-3000:] if log.exists() else ''}")
    return process


def add_to_cart(port: int, product_id: int, cookies: dict, csrf_token: str) -> bool:
    """POST the product page's form (the page's CSRF cookie echoed, as the form does) without a variant:
    whether the product went in (the cart's redirect; a product with variants sends back to its page)."""
    body = urlencode({"product": product_id, "quantity": 1, "csrfmiddlewaretoken": csrf_token})
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", "/cart/add/", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())})
        response = connection.getresponse()
        response.read()
        return response.status == 302 and response.getheader("Location", "").endswith("/cart/")
    finally:
        connection.close()


def time_to_change(port: int, prepared: dict, cookies: dict) -> float | None:
    """Seconds from the add-to-cart's response to the first fragment that differs; None past TIMEOUT."""
    pages.fetch(port, prepared["page"], cookies)  # visitor and CSRF cookies, as a browser's first page
    status, _, _, before = pages.fetch(port, prepared["fragment"], cookies)
    shown = [int(pid) for pid in PRODUCT_ID.findall(before.decode())]
    if status != 200 or not shown:
        raise RuntimeError(f"no carousel to change ({status}): {before[:500]!r}")
    # The row's first product that needs no size or colour chosen.
    if not any(add_to_cart(port, pid, cookies, cookies[prepared["csrf_cookie"]]) for pid in shown):
        raise RuntimeError(f"none of {shown} could be added to the cart")
    added = time.perf_counter()
    while time.perf_counter() - added < TIMEOUT:
        if pages.fetch(port, prepared["fragment"], cookies)[3] != before:
            return time.perf_counter() - added
        time.sleep(POLL_SECONDS)
    return None


def summary(delays: list[float | None]) -> dict:
    changed = [delay for delay in delays if delay is not None]
    return {"shoppers": len(delays), "unchanged_after_timeout": len(delays) - len(changed),
            "p50_s": round(percentile(changed, 50), 3) if changed else None,
            "p95_s": round(percentile(changed, 95), 3) if changed else None,
            "max_s": round(max(changed), 3) if changed else None}


def run() -> dict:
    from django.db import connection

    from ai.common import scratch_database

    directory = Path(tempfile.mkdtemp(prefix="vitrine-bench-freshness-"))
    redis_process = server = worker = None
    result: dict = {"shoppers_per_kind": SHOPPERS, "poll_ms": POLL_SECONDS * 1000, "timeout_s": TIMEOUT,
                    "web_workers": pages.WORKERS}
    try:
        with scratch_database() as name:
            result["database"] = name
            redis_process, redis_url = pages.start_redis(directory)
            env = {**pages.child_env(pages.database_url(connection.settings_dict), redis_url, directory),
                   "BENCH_PAGES_PRODUCTS": PRODUCTS, "BENCH_PAGES_CUSTOMERS": CUSTOMERS}
            started = time.perf_counter()
            prepared = pages.run_setup(env, "bench.freshness")
            result["setup"] = {"seconds": round(time.perf_counter() - started, 1), "products": prepared["products"],
                               "model": prepared["model"]}
            port = pages.free_port()
            server = pages.start_gunicorn(env, port, directory, prepared["page"])
            worker = start_worker(env, directory)
            sessions = prepared["sessions"]
            if len(sessions) < SHOPPERS + 1:
                raise RuntimeError(f"only {len(sessions)} customers have a list; {SHOPPERS + 1} wanted")
            delays: dict[str, list] = {"signed_in": [], "anonymous": []}
            for n, session in enumerate(sessions[:SHOPPERS + 1]):
                for kind, cookies in (("signed_in", {prepared["session_cookie"]: session}), ("anonymous", {})):
                    delay = time_to_change(port, prepared, cookies)
                    if n:  # the first of each kind warms the worker
                        delays[kind].append(delay)
            result |= {kind: summary(values) for kind, values in delays.items()}
            result["worker_errors"] = [line for line in (directory / "worker.log").read_text().splitlines()
                                       if " ERROR " in line or " WARNING " in line][-10:]
            result["target_p95_s"] = TARGET_P95_S
            result["p95_ok"] = all(result[kind]["p95_s"] is not None and result[kind]["p95_s"] <= TARGET_P95_S
                                   and not result[kind]["unchanged_after_timeout"] for kind in delays)
    finally:
        pages.stop(worker)
        pages.stop(server)
        pages.stop(redis_process, signal.SIGKILL)
        shutil.rmtree(directory, ignore_errors=True)
    return result
