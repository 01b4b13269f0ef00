"""Demand signals + pricing at catalogue scale, in a scratch database (the demo shop is never touched).

    python -m bench pricing      # BENCH_PRICING_PRODUCTS=100000, BENCH_PRICING_EVENTS=10000000 by default

1. 100k products (set-based INSERT: 40 categories in two levels, every tenth product with two variants)
   and 10M events over 90 days loaded exactly as ``bench ingest`` (c) loads them (bench partitions for
   Jan–Mar 2199, indexes built by ATTACH, ANALYZEd; product "slots" with skewed popularity, all of
   which map onto the scratch catalogue's real products here).
2. Rules: a global default (rule-based, ±20 %, 10 % a day, 6 % auto-approve, so its 5 % steps apply
   at once, rounding included, and the timed runs write prices, price history and prior prices) and a
   category rule with the demand-model strategy (3 % auto-approve) over a quarter of the catalogue, with a
   model trained on synthetic data (the bench events all carry one price, so nothing could be learned from
   them).
3. Timed: ``compute_demand_signals`` (median of 3), then a full ``price_products`` run for that slot
   (every product decided and written), then a second slot's signals + pricing (``run_pricing``), when
   the products moved in the first run carry price history their guardrails must read.
"""

import os
import statistics
import time

import numpy as np
from django.db import connection

from ai.common import scratch_database
from ai.pricing import demand_model, pipeline, training
from ai.pricing.models import PriceChange, PricingRule, Strategy
from bench.ingest import AGG_END, _load_agg_events
from commerce.catalogue.models import Category

PRODUCTS = int(os.environ.get("BENCH_PRICING_PRODUCTS", "100000"))
EVENTS = int(os.environ.get("BENCH_PRICING_EVENTS", "10000000"))


def load_catalogue(products: int) -> dict:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("""INSERT INTO catalogue_category (name, slug, description, sort_order, parent_id)
                          SELECT 'Department ' || n, 'dept-' || n, '', n, NULL FROM generate_series(1, 8) n""")
        cursor.execute("""INSERT INTO catalogue_category (name, slug, description, sort_order, parent_id)
                          SELECT 'Shelf ' || n, 'shelf-' || n, '', n,
                                 (SELECT id FROM catalogue_category WHERE slug = 'dept-' || (1 + n % 8))
                          FROM generate_series(1, 32) n""")
        cursor.execute(
            """INSERT INTO catalogue_product (title, slug, description, category_id, attributes, base_price, price,
                                              currency, stock, active, created_at, updated_at)
               SELECT 'Product ' || n, 'product-' || n, '',
                      (SELECT id FROM catalogue_category WHERE slug = 'shelf-' || (1 + n %% 32)), '{}',
                      round((2 + random() * 98)::numeric, 2), 0, 'GBP', (random() * 200)::int, true, now(), now()
               FROM generate_series(1, %s) n""", [products])
        cursor.execute("UPDATE catalogue_product SET price = base_price")
        cursor.execute(
            """INSERT INTO catalogue_productvariant (product_id, sku, options, price, stock, sort_order)
               SELECT p.id, 'SKU-' || p.id || '-' || v, jsonb_build_object('size', v), NULL, (random() * 40)::int, v
               FROM catalogue_product p CROSS JOIN generate_series(1, 2) v WHERE p.id % 10 = 0""")
        cursor.execute("ANALYZE catalogue_product")
        cursor.execute("ANALYZE catalogue_productvariant")
    return {"products": products, "seconds": round(time.perf_counter() - started, 1)}


def create_rules() -> dict:
    PricingRule.objects.create(name="Global default", max_discount_percent=20, max_markup_percent=20,
                               max_change_percent=10, interval_hours=24, auto_approve_percent=6)
    departments = list(Category.objects.filter(parent=None).order_by("pk").values_list("pk", flat=True)[:2])
    for department_id in departments:
        PricingRule.objects.create(name=f"Model for department {department_id}", category_id=department_id,
                                   max_discount_percent=15, max_markup_percent=15, max_change_percent=5,
                                   interval_hours=24, auto_approve_percent=3, strategy=Strategy.MODEL)
    rng = np.random.default_rng(0)
    rows = 6_000
    ratios, trend = rng.uniform(0.8, 1.2, rows), rng.uniform(0.1, 5, rows)
    features = np.column_stack([ratios, trend * 10 / 24, np.full(rows, 0.1), rng.poisson(trend), trend])
    started = time.perf_counter()
    trained = demand_model.train(demand_model.Panel(np.arange(rows) % 100, np.arange(rows) // 100, features,
                                                    rng.poisson(trend * ratios ** -1.5) * 1.0))
    training.store_demand_model(trained, training_rows=rows)
    return {"model_rules": len(departments), "synthetic_model_training_s": round(time.perf_counter() - started, 1)}


def timed(call) -> tuple[float, object]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def run() -> dict:
    with scratch_database():  # dropped afterwards: the shop's tables are never touched
        catalogue = load_catalogue(PRODUCTS)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            load = _load_agg_events(cursor, EVENTS)
        events_s = time.perf_counter() - started
        rules = create_rules()
        signal_runs = [timed(lambda: pipeline.compute_demand_signals(AGG_END)) for _ in range(3)]
        pricing_s, first = timed(lambda: pipeline.price_products(AGG_END, now=AGG_END))
        governed = {status: PriceChange.objects.filter(status=status).count()
                    for status in (PriceChange.Status.APPLIED, PriceChange.Status.PENDING)}
        next_slot = AGG_END + pipeline.SIGNAL_INTERVAL
        full_s, second = timed(lambda: pipeline.run_pricing(now=next_slot))
        return {
            "catalogue": catalogue,
            "events": {"rows": EVENTS, "load_s": round(events_s, 1), "partitions": load},
            "rules": rules,
            "signals_s": {"median": round(statistics.median(t for t, _ in signal_runs), 2),
                          "runs": [round(t, 2) for t, _ in signal_runs], "rows": signal_runs[0][1]},
            "pricing_first_slot_s": round(pricing_s, 2),
            "pricing_first_slot": first,
            "changes_after_first_slot": governed,
            "signals_plus_pricing_second_slot_s": round(full_s, 2),
            "second_slot": second,
        }
