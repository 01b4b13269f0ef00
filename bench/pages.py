"""A page with the three AI blocks, and the demo shop's own pages, served by gunicorn on loopback, in a
scratch database (the demo shop is never touched) and with a Redis of the bench's own (the development Redis
is never stopped).

    python -m bench pages

1. Setup, in a subprocess pointed at the scratch database and the bench Redis (``bench.pages_settings``):
   ``seed_demo --products BENCH_PAGES_PRODUCTS`` (2,000), ``simulate_shoppers --customers
   BENCH_PAGES_CUSTOMERS`` (300, 60 days), the search index (``ai.search.indexing.index_products`` in
   batches + ``refresh_term_statistics``), ``train_recommendations``, then four content pages under the
   home page, each hero + paragraph:
   - ``/bench-ai/``: + a trending RecommendationCarouselBlock (8, the shared server-rendered kind), a
     curated SemanticSearchBlock ("gifts for coffee lovers", 8; its results computed once by
     ``refresh_curated_results``, as the task would) and a DynamicallyPricedProductBlock (3 products);
   - ``/bench-plain/``: the same page with the three AI blocks removed (the budget's baseline);
   - ``/bench-grid/``: the same page with the AI blocks replaced by a hand-picked ProductGridBlock of the
     19 products the AI page shows (a "page with products" without AI, for information);
   - ``/bench/inline/?customer=N`` (a bench-only view, ``bench.pages_urls``): the AI page computing the
     customer's recommendations in the request, the anti-pattern the cache design avoids: the current
     model read from its rows (``refresh.read_model``), the customer's interactions from the events table,
     fold-in + blended scores + availability filter + explanations (``refresh_customer_recommendations``
     without its process cache, its table and its Redis key), rendered with the carousel's template in
     place of a marker block on a page that has the other two AI blocks.
   The demo's own pages, as ``seed_demo`` made them (``REAL_PAGES``): ``home`` (every block the demo put on
   it) and ``home-plain`` (the same home page, its AI blocks left out: ``/bench/home-without-ai/``, a
   bench-only URL); ``shop``; the
   ``category`` page of the department with most products; ``search`` (``/search/?q=BENCH_PAGES_QUERY``,
   "teapot"); ``product`` (the first trending product, with its "Similar products" and "Bought together"
   rows) and ``product-plain`` (the same view without the rows: ``/bench/product-without-rows/<slug>/``,
   a bench-only URL); ``fragment``: the home page's per-shopper block as the page's script fetches it, for a
   signed-in customer with trained recommendations (a session made in setup).
2. gunicorn ``vitrine.wsgi`` (sync workers, as the Procfile; ``BENCH_PAGES_WORKERS``, 2 = the cores) on
   127.0.0.1:<free port>, no access log. Every page is requested ``BENCH_PAGES_WARMUP`` (20) times first (warm caches).
3. (a) single client, sequential, the pages taking turns: ``BENCH_PAGES_REQUESTS`` (500) requests per page
   (inline: ``BENCH_PAGES_INLINE_REQUESTS``, 200), p50/p99 of
   the server time the ``Server-Timing: app;dur=`` header reports (``vitrine.middleware``) and of the
   client's time; (b) saturated: locust headless, ``BENCH_PAGES_USERS`` (12) users without think time for
   ``BENCH_PAGES_SECONDS`` (15 s) per run, each page with AI and its copy without (ai/plain, home/home-plain,
   product/product-plain) alternating ``BENCH_PAGES_ROUNDS`` (3) times;
   (c) inline, grid, shop, category, search and fragment likewise, once; (d) the bench Redis killed: every
   page requested ``BENCH_PAGES_REDIS_DOWN_REQUESTS`` (50) times, status codes and server time.
   ``real_pages`` sums up the demo's pages against the budget: p50 ≤ 15 ms and p99 ≤ 40 ms server time,
   and, where a page has a copy without AI, its throughput with AI ≥ 0.9 of the copy's.

The load generator shares the machine's cores with the server (as it would with wrk): requests/s are
those of the whole box; the ratio ai/plain is measured the same way, side by side.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from bench import percentile
from bench.servers import database_url, finish_run, free_port, start_redis, stop

ROOT = Path(__file__).resolve().parent.parent
PRODUCTS = int(os.environ.get("BENCH_PAGES_PRODUCTS", "2000"))
CUSTOMERS = int(os.environ.get("BENCH_PAGES_CUSTOMERS", "300"))
REQUESTS = int(os.environ.get("BENCH_PAGES_REQUESTS", "500"))
INLINE_REQUESTS = int(os.environ.get("BENCH_PAGES_INLINE_REQUESTS", "200"))
USERS = int(os.environ.get("BENCH_PAGES_USERS", "12"))
SECONDS = int(os.environ.get("BENCH_PAGES_SECONDS", "15"))
ROUNDS = int(os.environ.get("BENCH_PAGES_ROUNDS", "3"))
WORKERS = int(os.environ.get("BENCH_PAGES_WORKERS", "2"))
REDIS_DOWN_REQUESTS = int(os.environ.get("BENCH_PAGES_REDIS_DOWN_REQUESTS", "50"))
WARMUP = int(os.environ.get("BENCH_PAGES_WARMUP", "20"))
SEARCH_QUERY = os.environ.get("BENCH_PAGES_QUERY", "teapot")
INDEX_BATCH_SIZE = 512
CURATED_QUERY = "gifts for coffee lovers"
CARD_COUNT = 8
PRICED_COUNT = 3
INLINE_SLUG = "bench-inline"
INLINE_MARKER = "bench:inline-recommendations"
INLINE_MARKER_HTML = re.compile(r'<div class="block-heading">(?:(?!</div>).)*?' + re.escape(INLINE_MARKER)
                                + r"(?:(?!</div>).)*?</div>", re.DOTALL)
SETUP_RESULT = "BENCH_PAGES_SETUP "
SERVER_TIMING = re.compile(r"app;dur=([0-9.]+)")
# The demo's own pages; each page with AI blocks against its copy without them.
REAL_PAGES = ("home", "shop", "category", "search", "product", "fragment")
WITHOUT_AI = {"ai": "plain", "home": "home-plain", "product": "product-plain"}
REAL_PAGES_P50_MS, REAL_PAGES_P99_MS, AI_THROUGHPUT_RATIO = 15, 40, 0.9  # the AI may cost ≤ 10 % of throughput
PRODUCT_WITHOUT_ROWS = '{% extends "catalogue/product.html" %}{% block recommendation_rows %}{% endblock %}'

LOCUSTFILE = '''
import os, random
from locust import FastHttpUser, constant, task

PATHS = os.environ["BENCH_LOCUST_PATHS"].split()
HEADERS = {"Cookie": os.environ["BENCH_LOCUST_COOKIE"]} if os.environ.get("BENCH_LOCUST_COOKIE") else {}


class Shopper(FastHttpUser):
    wait_time = constant(0)

    @task
    def page(self):
        self.client.get(random.choice(PATHS), name="page", headers=HEADERS)
'''


# --- the anti-pattern: recommendations computed in the request (served by bench.pages_urls) ---------


def inline_recommendations(customer_id: int | None, limit: int) -> list[tuple]:
    """``refresh.refresh_customer_recommendations`` without any of its caches, per request: what a page
    that "just asks the model" does. Returns (product, reason) pairs for the carousel template."""
    import datetime as dt

    import numpy as np
    from django.utils import timezone

    from ai.recommendations import engine
    from ai.recommendations import serving as recommendations
    from ai.recommendations.models import RecommendationModel
    from ai.recommendations.refresh import read_model
    from commerce.catalogue import services as catalogue
    from commerce.catalogue.models import Product
    from commerce.events import queries as events

    model = RecommendationModel.objects.filter(is_current=True).first()
    if model is None or not customer_id:
        return [(r.product, r.reason) for r in recommendations.carousel("trending", limit=limit)]
    loaded = read_model(model)
    trained, product_ids, index, settings = loaded.trained, loaded.product_ids, loaded.index, loaded.trained.settings
    now = timezone.now()
    weights, bought = {}, set()
    for _, product_id, weight, purchased in events.interaction_totals(
            settings.event_weights, now - dt.timedelta(days=settings.window_days), now, customer_id):
        weights[product_id] = weight
        if purchased:
            bought.add(product_id)
    known = [(index[pid], weight) for pid, weight in weights.items() if pid in index]
    row = engine.interaction_matrix(np.zeros(len(known), dtype=np.int64),
                                    np.array([c for c, _ in known], dtype=np.int64),
                                    np.array([w for _, w in known], dtype=np.float32), (1, len(product_ids)))
    if row.nnz == 0:
        return [(r.product, r.reason) for r in recommendations.carousel("trending", limit=limit)]
    scores = engine.blended_scores(trained, engine.fold_in(trained, row)[None, :], row)[0]
    scores[np.array([index[pid] for pid in bought if pid in index], dtype=np.int64)] = -np.inf
    shortlist = np.argsort(-scores)[: limit * 4]
    shortlist = shortlist[np.isfinite(scores[shortlist])]
    products = catalogue.cards(product_ids[shortlist].tolist())[:limit]  # available ones, in order
    because = engine.explanations(trained, np.array([index[p.pk] for p in products], dtype=np.int64), row.indices)
    named = Product.objects.in_bulk([int(product_ids[b]) for b in because if b >= 0])
    return [(product, f"Because you viewed {named[int(product_ids[b])].title}"
             if b >= 0 and int(product_ids[b]) in named else "Recommended for you")
            for product, b in zip(products, because, strict=True)]


def inline_page(request):
    """The AI page with its carousel computed in the request (``?customer=<id>``, else trending)."""
    from django.http import Http404
    from django.template.loader import render_to_string

    from home.models import ContentPage

    page = ContentPage.objects.live().filter(slug=INLINE_SLUG).first()
    if page is None:
        raise Http404("Run bench/pages.py's setup first.")
    customer_id = int(request.GET.get("customer") or 0) or None
    carousel = render_to_string("blocks/recommendation_carousel_block.html", {
        "value": {"title": "Picked for you"}, "items": inline_recommendations(customer_id, CARD_COUNT),
        "strategy": "personalised", "block_id": "inline"}, request=request)
    response = page.serve(request)
    response.render()
    response.content = INLINE_MARKER_HTML.sub(
        lambda _: f'<div class="block-recommendations">{carousel}</div>', response.content.decode(), count=1)
    return response


@functools.cache
def _product_without_rows_template():
    from django.template import engines

    return engines["django"].from_string(PRODUCT_WITHOUT_ROWS)


def home_without_ai(request):
    """The live home page served with its AI blocks left out (the rest keep their ids, hence their cached
    HTML): the home page without AI. Found as Wagtail's serve view finds it, from the request's site."""
    from wagtail.models import Site

    from blocks.blocks import AIBlock

    home = Site.find_for_request(request).root_page.specific
    stream = home.body.stream_block
    home.body = [dict(child) for child in home.body.raw_data
                 if not isinstance(stream.child_blocks[child["type"]], AIBlock)]
    return home.serve(request)


def product_without_rows(request, slug):
    """The shop's product view, its template's recommendation rows left out: the product page without AI."""
    from unittest import mock

    from django.http import HttpResponse

    from commerce.catalogue import views

    def render(request, template_name, context=None, **kwargs):
        return HttpResponse(_product_without_rows_template().render(context, request))

    with mock.patch.object(views, "render", render):  # gunicorn's sync workers serve one request at a time
        return views.product(request, slug)


# --- setup (runs in a subprocess: scratch database + bench Redis) ----------------------------------


def real_pages(home, customer_id: int | None) -> tuple[dict, dict]:
    """The demo's own pages to measure (paths by kind, ``REAL_PAGES`` and their copies without AI) and the
    cookies of a signed-in customer for the per-shopper fragment."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.urls import reverse

    from ai.recommendations import serving as recommendations
    from commerce.catalogue.models import Category, Product
    from commerce.customers.models import Customer

    home = home.specific
    department = max(Category.objects.filter(parent=None),
                     key=lambda category: Product.objects.active().in_category(category).count())
    product = recommendations.carousel("trending", limit=1)[0].product
    pages = {"home": home.url, "home-plain": "/bench/home-without-ai/", "shop": reverse("catalogue:shop"),
             "category": department.get_absolute_url(), "search": f"/search/?q={quote(SEARCH_QUERY)}",
             "product": product.get_absolute_url(), "product-plain": f"/bench/product-without-rows/{product.slug}/"}
    personal = next((raw for raw in home.body.raw_data
                     if getattr(home.body.stream_block.child_blocks[raw["type"]], "is_per_shopper",
                                lambda raw: False)(raw["value"])), None)
    cookies = {}
    if personal is not None and customer_id is not None:
        pages["fragment"] = reverse("blocks:fragment", kwargs={"page_id": home.pk, "block_id": personal["id"]})
        user = Customer.objects.get(pk=customer_id).user
        session = import_module(settings.SESSION_ENGINE).SessionStore()
        session.update({SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                        HASH_SESSION_KEY: user.get_session_auth_hash()})
        session.create()
        cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    return pages, cookies



def setup() -> dict:
    import io

    from django.core.management import call_command
    from wagtail.images.models import Image
    from wagtail.rich_text import RichText

    from ai.recommendations import serving as recommendations
    from ai.recommendations import training
    from ai.recommendations.models import CustomerRecommendations
    from ai.search import indexing, serving
    from blocks.blocks import SemanticSearchBlock
    from commerce.catalogue.models import Product
    from home.models import ContentPage, HomePage

    timings = {}
    started = time.perf_counter()
    call_command("seed_demo", products=PRODUCTS, customers=50, no_search_index=True, verbosity=0,
                 stdout=io.StringIO())
    timings["seed_demo_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    call_command("simulate_shoppers", customers=CUSTOMERS, days=60, verbosity=0, stdout=io.StringIO())
    timings["simulate_shoppers_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    ids = list(Product.objects.order_by("pk").values_list("pk", flat=True))
    paths = indexing.category_paths()
    for start in range(0, len(ids), INDEX_BATCH_SIZE):
        indexing.index_products(ids[start:start + INDEX_BATCH_SIZE], paths=paths, force=True)
    indexing.refresh_term_statistics()
    timings["search_index_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    model = training.train_recommendations()
    timings["train_recommendations_s"] = round(time.perf_counter() - started, 1)

    home = HomePage.objects.first()
    hero = ("hero", {"headline": "Slow mornings, well made", "text": "Stoneware for the first coffee, linen for "
                     "the long lie-in, from independent makers.", "image": Image.objects.filter(
                         title="Home hero").first(), "link_text": "Shop everything", "link_url": "/shop/"})
    paragraph = ("paragraph", RichText(
        "<p>Every piece in Vitrine comes from a maker we know by name. We choose things that get better with "
        "use, pack them without plastic and deliver them carbon-neutral. <a href=\"/shop/\">Browse the whole "
        "shop</a>.</p>"))
    priced_products = list(Product.objects.available().order_by("-stock", "pk")[:PRICED_COUNT])
    carousel = ("recommendations", {"title": "Trending now", "strategy": "trending", "count": CARD_COUNT,
                                    "category": None, "product": None, "fallback": "trending"})
    curated_value = {"title": "Gifts for coffee lovers", "mode": "curated", "query": CURATED_QUERY,
                     "category": None, "max_price": None, "in_stock": True, "count": CARD_COUNT}
    curated = ("semantic_search", curated_value)
    priced = ("priced_products", {"title": "This week's prices", "products": priced_products})
    # What the periodic task does for a curated block (its first view would ask for it).
    curated_ids = serving.refresh_curated_results(CURATED_QUERY, SemanticSearchBlock().filters(curated_value),
                                                  CARD_COUNT)
    shown = list(dict.fromkeys([r.product.pk for r in recommendations.carousel("trending", limit=CARD_COUNT)]
                               + curated_ids + [p.pk for p in priced_products]))
    grid = ("product_grid", {"title": "Our picks", "products": list(Product.objects.in_bulk(shown).values())})
    bodies = {
        "bench-ai": [hero, paragraph, carousel, curated, priced],
        "bench-plain": [hero, paragraph],
        "bench-grid": [hero, paragraph, grid],
        INLINE_SLUG: [hero, paragraph, ("heading", {"text": INLINE_MARKER, "level": "h2"}), curated, priced],
    }
    pages = {}
    for slug, body in bodies.items():
        page = ContentPage(title=f"Bench: {slug}", slug=slug, intro="A page for bench/pages.py.", body=body,
                           live=False)
        home.add_child(instance=page)
        page.save_revision().publish()
        pages[slug] = page.url
    customers = list(CustomerRecommendations.objects.order_by("customer_id").values_list("customer_id", flat=True))
    demo_pages, shopper_cookies = real_pages(home, customers[0] if customers else None)
    return {"timings": timings, "pages": pages, "customers": customers[:200], "products": len(ids),
            "real_pages": demo_pages, "shopper_cookies": shopper_cookies,
            "model": {"version": model.version, "customers": model.customers, "products": model.products,
                      "interactions": model.interactions} if model else None,
            "grid_products": len(shown)}


# --- processes ---------------------------------------------------------------------------------


def child_env(database: str, redis_url: str, directory: Path) -> dict:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.pages_settings", "DATABASE_URL": database,
            "REDIS_URL": redis_url, "VITRINE_MEDIA_ROOT": str(directory / "media"), "PYTHONPATH": str(ROOT),
            "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "VITRINE_LOG_LEVEL": "WARNING"}


def run_setup(env: dict, module: str = "bench.pages") -> dict:
    """``module.setup()`` in a child process with the bench's environment (Django configured for the
    bench's servers there, not here); its result, the line the child prints last."""
    completed = subprocess.run([sys.executable, "-m", "bench.pages", "setup", module], cwd=ROOT, env=env,
                               capture_output=True, text=True)
    lines = [line for line in completed.stdout.splitlines() if line.startswith(SETUP_RESULT)]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"setup failed ({completed.returncode}):\n{completed.stdout[-3000:]}\n"
                           f"{completed.stderr[-5000:]}")
    return json.loads(lines[-1][len(SETUP_RESULT):])


def start_gunicorn(env: dict, port: int, directory: Path, probe: str, workers: int = WORKERS) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "vitrine.wsgi", "--bind", f"127.0.0.1:{port}", "--workers",
         str(workers), "--worker-class", "sync", "--chdir", str(ROOT), "--log-level", "warning",
         "--error-logfile", str(directory / "gunicorn.log")], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {(directory / 'gunicorn.log').read_text()[-3000:]}")
        with contextlib.suppress(OSError):
            if fetch(port, probe)[0] == 200:
                return process
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("gunicorn did not answer")


# --- measuring ---------------------------------------------------------------------------------


def fetch(port: int, path: str, cookies: dict | None = None) -> tuple[int, float | None, float, bytes]:
    """One GET on a new connection (sync workers close it): status, server ms, client ms, body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}
    started = time.perf_counter()
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        client_ms = (time.perf_counter() - started) * 1000
    finally:
        connection.close()
    if cookies is not None:
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, value = header.split(";", 1)[0].partition("=")
            cookies[name.strip()] = value.strip()
    match = SERVER_TIMING.search(response.getheader("Server-Timing") or "")
    return response.status, float(match.group(1)) if match else None, client_ms, body


def single_client(port: int, paths: dict[str, list[str]], counts: dict[str, int],
                  cookies_of: dict[str, dict] | None = None) -> dict:
    """Sequential requests, the pages taking turns (a shared machine's load drifts: every page sees the
    same drift), each page as a returning browser (the visitor and CSRF cookies of its first response,
    after those ``cookies_of`` gives it: a signed-in shopper's session)."""
    cookies = {kind: dict((cookies_of or {}).get(kind, {})) for kind in paths}
    server = {kind: [] for kind in paths}
    client = {kind: [] for kind in paths}
    statuses = {kind: {} for kind in paths}
    for i in range(max(counts.values())):
        for kind, kind_paths in paths.items():
            if i >= counts[kind]:
                continue
            status, server_ms, client_ms, _ = fetch(port, kind_paths[i % len(kind_paths)], cookies[kind])
            statuses[kind][status] = statuses[kind].get(status, 0) + 1
            client[kind].append(client_ms)
            if server_ms is not None:
                server[kind].append(server_ms)
    return {kind: {"requests": counts[kind], "statuses": statuses[kind],
                   "server_p50_ms": round(percentile(server[kind], 50), 2),
                   "server_p99_ms": round(percentile(server[kind], 99), 2),
                   "server_mean_ms": round(statistics.mean(server[kind]), 2),
                   "client_p50_ms": round(percentile(client[kind], 50), 2),
                   "client_p99_ms": round(percentile(client[kind], 99), 2)} for kind in paths}


def saturated(port: int, paths: list[str], directory: Path, label: str, cookies: dict | None = None) -> dict:
    locustfile = directory / "locustfile.py"
    locustfile.write_text(LOCUSTFILE)
    prefix = directory / f"locust-{label}"
    completed = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "-u", str(USERS), "-r", str(USERS),
         "-t", f"{SECONDS}s", "--host", f"http://127.0.0.1:{port}", "--csv", str(prefix), "--only-summary",
         "--reset-stats", "--loglevel", "WARNING"],
        cwd=directory, env={**os.environ, "BENCH_LOCUST_PATHS": " ".join(paths),
                            "BENCH_LOCUST_COOKIE": "; ".join(f"{k}={v}" for k, v in (cookies or {}).items())},
        capture_output=True, text=True)
    try:
        with open(f"{prefix}_stats.csv", newline="") as handle:
            row = next(r for r in csv.DictReader(handle) if r["Name"] == "Aggregated")
    except (FileNotFoundError, StopIteration) as error:
        raise RuntimeError(f"locust gave no stats ({completed.returncode}): {completed.stderr[-3000:]}") from error
    return {"requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
            "requests_per_s": round(float(row["Requests/s"]), 1), "client_p50_ms": float(row["50%"]),
            "client_p99_ms": float(row["99%"])}


def check_pages(port: int, pages: dict, customer: int, real: dict, shopper_cookies: dict) -> dict:
    ai = fetch(port, pages["bench-ai"])[3].decode()
    inline = fetch(port, f"/bench/inline/?customer={customer}")[3].decode()
    home, home_plain, product, product_plain, search = (
        fetch(port, real[kind])[3].decode() for kind in ("home", "home-plain", "product", "product-plain", "search"))
    fragment = fetch(port, real["fragment"], dict(shopper_cookies))[3].decode() if "fragment" in real else ""
    return {
        "ai_carousel_trending": 'data-strategy="trending"' in ai,
        "ai_product_cards": ai.count("data-product-id="),
        "ai_no_fallback": "ai-block--fallback" not in ai,
        "inline_personalised": 'data-strategy="personalised"' in inline and INLINE_MARKER not in inline,
        "inline_product_cards": inline.count("data-product-id="),
        "home_ai_blocks": home.count('data-ai-surface="block:'),
        "home_plain_ai_blocks": home_plain.count('data-ai-surface="block:'),
        "product_rows": product.count('data-strategy="product-'),
        "product_plain_rows": product_plain.count('data-strategy="product-'),
        "search_results": search.count('href="/search/click/'),
        "fragment_personalised": 'data-strategy="personalised"' in fragment,
    }


def real_pages_summary(single: dict, throughput: dict) -> dict:
    """Each of the demo's pages against the budget; with AI against its copy without, where it has one."""
    summary = {}
    for kind in REAL_PAGES:
        if kind not in single:
            continue
        page = {"server_p50_ms": single[kind]["server_p50_ms"], "server_p99_ms": single[kind]["server_p99_ms"],
                "requests_per_s": throughput[kind],
                "p50_ok": single[kind]["server_p50_ms"] <= REAL_PAGES_P50_MS,
                "p99_ok": single[kind]["server_p99_ms"] <= REAL_PAGES_P99_MS}
        if kind in WITHOUT_AI:
            plain = WITHOUT_AI[kind]
            ratio = round(throughput[kind] / throughput[plain], 3)
            page.update(without_ai=plain, without_ai_server_p50_ms=single[plain]["server_p50_ms"],
                        without_ai_requests_per_s=throughput[plain], ai_over_plain=ratio,
                        ratio_ok=ratio >= AI_THROUGHPUT_RATIO)
        summary[kind] = page
    return summary


def run() -> dict:
    from django.db import connection

    from ai.common import scratch_database

    directory = Path(tempfile.mkdtemp(prefix="vitrine-bench-pages-"))
    redis_process = server = None
    result: dict = {"workers": WORKERS, "worker_class": "sync", "users": USERS, "seconds_per_run": SECONDS,
                    "load_average_before": [round(x, 2) for x in os.getloadavg()]}
    try:
        with scratch_database() as name:
            result["database"] = name
            redis_process, redis_url = start_redis(directory)
            env = child_env(database_url(connection.settings_dict), redis_url, directory)
            started = time.perf_counter()
            prepared = run_setup(env)
            result["setup"] = {**prepared["timings"], "total_s": round(time.perf_counter() - started, 1),
                               "products": prepared["products"], "model": prepared["model"],
                               "grid_products": prepared["grid_products"]}
            pages = prepared["pages"]
            customers = prepared["customers"]
            inline_paths = [f"/bench/inline/?customer={c}" for c in customers]
            paths = {"ai": [pages["bench-ai"]], "plain": [pages["bench-plain"]], "grid": [pages["bench-grid"]],
                     "inline": inline_paths, **{kind: [path] for kind, path in prepared["real_pages"].items()}}
            shopper = {"fragment": prepared["shopper_cookies"]}
            port = free_port()
            server = start_gunicorn(env, port, directory, pages["bench-plain"])
            for kind, kind_paths in paths.items():  # warm caches, templates and both workers
                for i in range(WARMUP):
                    fetch(port, kind_paths[i % len(kind_paths)], dict(shopper.get(kind, {})))
            result["checks"] = check_pages(port, pages, customers[0], prepared["real_pages"],
                                           prepared["shopper_cookies"])

            result["single_client"] = single_client(port, paths, {kind: INLINE_REQUESTS if kind == "inline"
                                                                  else REQUESTS for kind in paths}, shopper)
            runs = {kind: [] for pair in WITHOUT_AI.items() for kind in pair if kind in paths}
            for _ in range(ROUNDS):
                for kind in runs:
                    runs[kind].append(saturated(port, paths[kind], directory, f"{kind}-{len(runs[kind])}"))
            once = {kind: saturated(port, paths[kind], directory, kind, shopper.get(kind))
                    for kind in ("grid", "inline", *REAL_PAGES) if kind in paths and kind not in runs}
            throughput = {**{kind: round(sum(r["requests_per_s"] for r in kind_runs) / ROUNDS, 1)
                             for kind, kind_runs in runs.items()},
                          **{kind: run["requests_per_s"] for kind, run in once.items()}}
            grid, inline = once["grid"], once["inline"]
            result["saturated"] = {
                "ai_runs": runs["ai"], "plain_runs": runs["plain"], "grid": grid, "inline": inline,
                "ai_requests_per_s": throughput["ai"], "plain_requests_per_s": throughput["plain"],
                "runs": runs, "once": once, "requests_per_s": throughput,
            }
            sat = result["saturated"]
            sat["ai_over_plain"] = round(sat["ai_requests_per_s"] / sat["plain_requests_per_s"], 3)
            sat["ai_over_grid"] = round(sat["ai_requests_per_s"] / grid["requests_per_s"], 3)
            sat["inline_over_ai"] = round(inline["requests_per_s"] / sat["ai_requests_per_s"], 3)

            stop(redis_process, signal.SIGKILL)  # an outage, not a shutdown
            result["redis_down"] = single_client(port, paths, dict.fromkeys(paths, REDIS_DOWN_REQUESTS), shopper)
            result["redis_down"]["all_200"] = all(
                set(r["statuses"]) == {200} for r in result["redis_down"].values() if isinstance(r, dict))

            sc = result["single_client"]["ai"]
            result["budget"] = {
                "ai_server_p50_ms": sc["server_p50_ms"], "p50_ok": sc["server_p50_ms"] <= 15,
                "ai_server_p99_ms": sc["server_p99_ms"], "p99_ok": sc["server_p99_ms"] <= 40,
                "throughput_ratio": sat["ai_over_plain"], "ratio_ok": sat["ai_over_plain"] >= 0.8,
                "redis_down_all_200": result["redis_down"]["all_200"],
            }
            result["real_pages"] = real_pages_summary(result["single_client"], throughput)
    finally:
        stop(server)
        stop(redis_process, signal.SIGKILL)
        finish_run(result, directory, keep=bool(os.environ.get("BENCH_PAGES_KEEP")))
    return result


if __name__ == "__main__" and sys.argv[1:2] == ["setup"]:  # run_setup's child: setup MODULE
    import importlib

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.pages_settings")
    django.setup()
    prepared = importlib.import_module(sys.argv[2]).setup()
    print(SETUP_RESULT + json.dumps(prepared, default=str), flush=True)
