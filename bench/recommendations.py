"""Recommendations at scale, in a scratch database (the demo shop is never touched).

    python -m bench recommendations

1. Generates ``BENCH_RECS_CUSTOMERS`` customers (100,000), ``BENCH_RECS_PRODUCTS`` products (20,000)
   and ``BENCH_RECS_EVENTS`` events (1,000,000) over the last 80 days with set-based SQL: each
   customer has one of 50 tastes and mostly interacts with that taste's products, popularity within a
   taste is skewed (a few products get most events); 85 % views, 10 % add-to-carts, 5 % purchases.
   Plus ``BENCH_RECS_ORDERS`` orders (50,000) of 2–4 products of one taste, for "bought together".
2. ``training.train_recommendations()`` end to end (load → selection on the newest slice of a sample of
   customers' events → the winner fitted on all → factors → every customer's top-20 → product lists →
   Redis), timed per stage through its progress callback, selection's own seconds as it records them,
   and the process's CPU seconds end to end (steadier than wall time on a shared machine), its peak RSS and
   Redis's memory after it; then once more with that model current (the retrain replaces its factors, lists
   and cache entries) unless ``BENCH_RECS_RETRAIN=0``.
3. The real-time path: a Celery worker on the ``realtime`` queue (in this process, idle between
   requests), ``BENCH_RECS_REFRESHES`` (100) add-to-carts by random customers through
   ``orders.services.add_to_cart``; each is timed from the call until the refreshed list is in Redis.
"""

import os
import random
import resource
import statistics
import time
import uuid

from celery.contrib.testing.worker import start_worker
from django.core.cache import cache
from django.db import connection
from django_redis import get_redis_connection

from ai.common import scratch_database
from ai.recommendations import training
from ai.recommendations.serving import CUSTOMER_KEY
from bench import percentile
from commerce.catalogue.models import Product
from commerce.customers.models import Customer
from commerce.orders.services import Shopper, add_to_cart
from vitrine.celery import app

CUSTOMERS = int(os.environ.get("BENCH_RECS_CUSTOMERS", "100000"))
PRODUCTS = int(os.environ.get("BENCH_RECS_PRODUCTS", "20000"))
EVENTS = int(os.environ.get("BENCH_RECS_EVENTS", "1000000"))
ORDERS = int(os.environ.get("BENCH_RECS_ORDERS", "50000"))
REFRESHES = int(os.environ.get("BENCH_RECS_REFRESHES", "100"))
RETRAIN = os.environ.get("BENCH_RECS_RETRAIN", "1") != "0"
TASTES = 50


def generate() -> dict:
    started = time.perf_counter()
    per_taste = PRODUCTS // TASTES
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO catalogue_category (name, slug, description, sort_order, parent_id) "
                       "VALUES ('Bench', 'bench', '', 0, NULL) RETURNING id")
        category = cursor.fetchone()[0]
        cursor.execute(
            """INSERT INTO catalogue_product (title, slug, description, category_id, attributes, base_price, price,
                                              currency, stock, active, created_at, updated_at)
               SELECT 'Bench product ' || n, 'bench-' || n, '', %s, '{}', 10, 10, 'GBP', 1000, true, now(), now()
               FROM generate_series(1, %s) AS n""", [category, PRODUCTS])
        cursor.execute(
            """INSERT INTO auth_user (username, email, password, first_name, last_name, is_staff, is_active,
                                      is_superuser, date_joined)
               SELECT 'bench' || n, 'bench' || n || '@example.com', '!', '', '', false, true, false, now()
               FROM generate_series(1, %s) AS n""", [CUSTOMERS])
        cursor.execute("INSERT INTO customers_customer (user_id, created_at, accepts_marketing) "
                       "SELECT id, now(), false FROM auth_user WHERE username LIKE 'bench%%'")
        cursor.execute("SELECT min(id) FROM catalogue_product")
        first_product = cursor.fetchone()[0]
        cursor.execute("SELECT min(id) FROM customers_customer")
        first_customer = cursor.fetchone()[0]
        # customer c has taste c % TASTES; within a taste, product rank = floor(per_taste · u³) (skewed);
        # one event in ten wanders outside the taste.
        cursor.execute(
            """INSERT INTO events_customerevent (id, created_at, event_type, customer_id, anonymous_id, session_id,
                                                 product_id, quantity, price, surface, experiments, query)
               SELECT gen_random_uuid(), now() - random() * interval '80 days',
                      CASE WHEN r < 0.85 THEN 'view' WHEN r < 0.95 THEN 'add_to_cart' ELSE 'purchase' END,
                      %(first_customer)s + c, NULL, '',
                      %(first_product)s + (CASE WHEN random() < 0.9 THEN c %% %(tastes)s
                                                ELSE floor(random() * %(tastes)s)::int END)
                                        + %(tastes)s * floor(%(per_taste)s * power(random(), 3))::int,
                      1, 10, 'bench', '{}', ''
               FROM (SELECT floor(random() * %(customers)s)::int AS c, random() AS r
                     FROM generate_series(1, %(events)s)) AS g""",
            {"first_customer": first_customer, "first_product": first_product, "tastes": TASTES,
             "per_taste": per_taste, "customers": CUSTOMERS, "events": EVENTS})
        cursor.execute(
            """INSERT INTO orders_order (number, customer_id, email, full_name, line1, line2, city, postcode, country,
                                         status, currency, total, experiments, created_at)
               SELECT 'B' || n, %s + floor(random() * %s)::int, 'bench@example.com', 'Bench', '1 Bench St', '',
                      'Bath', 'BA1', 'GB', 'placed', 'GBP', 30, '{}', now() - random() * interval '80 days'
               FROM generate_series(1, %s) AS n""", [first_customer, CUSTOMERS, ORDERS])
        cursor.execute(
            """INSERT INTO orders_lineitem (order_id, product_id, title, sku, unit_price, quantity)
               SELECT o.id, %(first_product)s + (o.id %% %(tastes)s)
                            + %(tastes)s * floor(%(per_taste)s * power(random(), 2))::int, 'Bench', '', 10, 1
               FROM orders_order o, generate_series(1, 2 + (random() * 2)::int)""",
            {"first_product": first_product, "tastes": TASTES, "per_taste": per_taste})
        cursor.execute("ANALYZE")
    return {"customers": CUSTOMERS, "products": PRODUCTS, "events": EVENTS, "orders": ORDERS,
            "generate_s": round(time.perf_counter() - started, 1)}


def train() -> dict:
    marks: dict[str, float] = {}
    started, cpu_started = time.perf_counter(), time.process_time()

    def progress(stage: str, done: int, total: int):
        if done == total:
            marks[stage] = time.perf_counter() - started

    model = training.train_recommendations(progress=progress)
    total, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # Linux reports KiB
    redis = get_redis_connection("default")
    redis_mb = round(redis.info("memory")["used_memory"] / 2**20)
    retrain_s = None
    if RETRAIN:  # again with a current model in place: its factors, lists and cache entries are replaced
        retrain_started = time.perf_counter()
        training.train_recommendations()
        retrain_s = round(time.perf_counter() - retrain_started, 1)
    return {
        "retrain_end_to_end_s": retrain_s,
        "end_to_end_s": round(total, 1),
        # this process's CPU seconds, all its threads (not PostgreSQL's or Redis's): on a shared machine
        # it moves far less with the load than the wall time does
        "end_to_end_cpu_s": round(cpu, 1),
        "load_and_select_s": round(marks["select"], 1),
        "of_which_selection_s": model.selection["seconds"],
        "selected": model.selection["winner"],
        # similar and bought together, chosen in the same stage
        "surfaces": {surface: {"winner": record["winner"], "seconds": record.get("seconds"),
                               "validation_seeds": record.get("validation_seeds"), "reason": record.get("reason")}
                     for surface, record in model.selection.get("surfaces", {}).items()},
        "candidates": len(model.selection.get("candidates", {})),
        "validation_customers": model.selection.get("validation_customers", 0),
        "fit_winner_s": round(marks["fit"] - marks["select"], 1),
        "factors_and_customer_lists_s": round(marks["precompute"] - marks["fit"], 1),
        "product_lists_publish_and_redis_s": round(total - marks["precompute"], 1),
        "customers_with_lists": model.customers_with_recommendations,
        "customers_per_s_precompute": round(model.customers_with_recommendations / model.precompute_seconds),
        "model_customers": model.customers, "model_products": model.products, "cells": model.interactions,
        "catalogue_coverage": model.catalogue_coverage,
        "peak_rss_mb": peak_rss_mb,  # the process's, generation included
        "redis_used_memory_mb": redis_mb, "redis_keys": redis.dbsize(),
    }


def realtime_refresh() -> dict:
    rng = random.Random(5)
    customers = list(Customer.objects.values_list("pk", flat=True))
    products = list(Product.objects.values_list("pk", flat=True)[:2000])
    timings = []
    with start_worker(app, queues=["realtime"], perform_ping_check=False, loglevel="WARNING"):
        for _ in range(REFRESHES):
            customer = Customer.objects.get(pk=rng.choice(customers))
            key = CUSTOMER_KEY.format(customer.pk)
            cache.delete(key)
            started = time.perf_counter()
            add_to_cart(Shopper(customer, uuid.uuid4()), Product.objects.get(pk=rng.choice(products)))
            deadline = started + 30
            while cache.get(key) is None and time.perf_counter() < deadline:
                time.sleep(0.002)
            timings.append((time.perf_counter() - started) * 1000)
            time.sleep(0.05)  # an idle worker between shoppers
    return {"refreshes": len(timings), "p50_ms": round(percentile(timings, 50), 1),
            "p95_ms": round(percentile(timings, 95), 1), "p99_ms": round(percentile(timings, 99), 1),
            "max_ms": round(max(timings), 1), "mean_ms": round(statistics.mean(timings), 1)}


def run() -> dict:
    try:
        with scratch_database():
            data = generate()
            timings = train()
            return {"data": data, "training": timings, "realtime": realtime_refresh()}
    finally:
        # The scratch shop's lists went to the shared Redis: drop them (the real shop refills from its tables).
        cache.delete_pattern("recs:*")
