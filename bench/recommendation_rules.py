"""What merchandising rules cost a recommendation row, on demo data in a scratch database.

    python -m bench recommendation_rules

1. ``seed_demo --products BENCH_RULES_PRODUCTS`` (1,000), ``simulate_shoppers --customers
   BENCH_RULES_CUSTOMERS`` (300) over 60 days, then ``train_recommendations``.
2. For every customer, the home row (``ROW`` products) with warm caches: without rules, then with a
   typical set live on it (hide the biggest category, boost an attribute value, pin a product, leave out
   the cart and the last 30 days' orders): the time to build the row, and the share of rows still full;
   and, with the rules, the median time of its two stages (the row resolved ``OVERFETCH`` times longer,
   the rules applied to it).
"""

import os

from django.db.models import Count

from ai.common import scratch_database
from ai.recommendations import rules, serving, training
from ai.recommendations.models import RecommendationRule
from bench.demo_shop import simulated_shop
from bench.timing import latency, stage_medians, timed_ms
from commerce.catalogue.models import Category, Product
from commerce.customers.models import Customer

PRODUCTS = int(os.environ.get("BENCH_RULES_PRODUCTS", "1000"))
CUSTOMERS = int(os.environ.get("BENCH_RULES_CUSTOMERS", "300"))
ROW = 12


def run() -> dict:
    with scratch_database():
        return _run()


def _run() -> dict:
    simulated_shop(PRODUCTS, CUSTOMERS)
    training.train_recommendations()
    customers = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
    without = _rows(customers)
    _add_typical_rules()
    with_rules = _rows(customers)
    live = rules.live_rules("home")
    rows = {customer_id: serving.recommend("home", customer_id=customer_id, limit=ROW * rules.OVERFETCH, rules=[])
            for customer_id in customers}
    stages = stage_medians({
        "resolve_row_3x": lambda customer_id: serving.recommend("home", customer_id=customer_id,
                                                                limit=ROW * rules.OVERFETCH, rules=[]),
        "rerank": lambda customer_id: rules.rerank(rows[customer_id], live, ROW, rules.Shopper(customer_id)),
    }, customers)
    return {"customers": len(customers), "row": ROW, "without_rules": without, "with_rules": with_rules,
            "with_rules_stage_medians_ms": stages}


def _rows(customers: list[int]) -> dict:
    for customer_id in customers:  # warm: the lists in Redis, the rules table cached
        serving.recommend("home", customer_id=customer_id, limit=ROW)
    timings, full = [], 0
    for customer_id in customers:
        row, ms = timed_ms(serving.recommend, "home", customer_id=customer_id, limit=ROW)
        timings.append(ms)
        full += len(row) == ROW
    return {**latency(timings), "full_rows_share": round(full / max(len(customers), 1), 3)}


def _add_typical_rules() -> None:
    biggest = Category.objects.annotate(n=Count("products")).order_by("-n").first()
    attribute = next((attributes for attributes in Product.objects.available().values_list("attributes", flat=True)
                      if any(isinstance(value, str) for value in attributes.values())), {"colour": "red"})
    name, value = next((name, value) for name, value in attribute.items() if isinstance(value, str))
    hidden = RecommendationRule.objects.create(name="Hide the biggest category", placements=["home"])
    hidden.hidden_categories.set([biggest])
    hidden.save()
    RecommendationRule.objects.create(name=f"Boost {name} {value}", placements=["home"], boost_attribute_name=name,
                                      boost_attribute_value=str(value), boost_percent=100)
    RecommendationRule.objects.create(name="Pin a product", placements=["home"],
                                      pin_product=Product.objects.available().order_by("-pk").first(), pin_position=3)
    RecommendationRule.objects.create(name="Not twice", placements=["home"], exclude_in_cart=True,
                                      exclude_bought_within_days=30)
    rules.forget()

