"""How coherent and how full the product page's rows are on demo data, in a scratch database.

    python -m bench recommendation_surfaces

1. ``seed_demo --products BENCH_SURFACES_PRODUCTS`` (2,000, with its search index: text embeddings),
   ``simulate_shoppers --customers BENCH_SURFACES_CUSTOMERS`` (500) over 60 days, then
   ``train_recommendations`` and the embedding neighbours of the products the model does not cover.
2. For every available product, as the storefront serves them: its similar list (the share of its first
   ``ROW`` products in the product's own category), and whether its "Similar products" and "Bought
   together" rows reach 4 products from their own lists (before popular products fill them), and the
   time to build both rows with warm caches (p50, p99, mean).
"""

import os
import statistics
import time

from ai.common import CarouselStrategy, scratch_database
from ai.recommendations import neighbours, serving, training
from bench.demo_shop import simulated_shop
from bench.timing import latency, timed_ms
from commerce.catalogue.models import Product

PRODUCTS = int(os.environ.get("BENCH_SURFACES_PRODUCTS", "2000"))
CUSTOMERS = int(os.environ.get("BENCH_SURFACES_CUSTOMERS", "500"))
ROW = 8


def run() -> dict:
    with scratch_database():
        return _run()


def _run() -> dict:
    timings = {}
    started = time.perf_counter()
    simulated_shop(PRODUCTS, CUSTOMERS)
    timings["demo_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    training.train_recommendations()
    timings["train_recommendations_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    neighbours.compute_embedding_neighbours(neighbours.products_needing_neighbours(PRODUCTS))
    timings["embedding_neighbours_s"] = round(time.perf_counter() - started, 1)

    categories = dict(Product.objects.values_list("pk", "category_id"))
    available = list(Product.objects.available().order_by("pk").values_list("pk", flat=True))
    same_category, similar_full, together_full, associated, row_ms = [], 0, 0, 0, []
    for product_id in available:
        similar = serving.carousel(CarouselStrategy.SIMILAR, product_id=product_id, limit=ROW)
        if similar:
            same_category.append(sum(categories[r.product.pk] == categories[product_id] for r in similar)
                                 / len(similar))
        similar_full += len(similar) >= 4
        together = serving.carousel(CarouselStrategy.BOUGHT_TOGETHER, product_id=product_id, limit=ROW)
        together_full += len(together) >= 4
        associated += any(r.strategy == "bought_together" for r in together)
        row_ms.append(timed_ms(lambda product_id=product_id: (
            serving.recommend("product", product_id=product_id, limit=ROW),
            serving.complementary([product_id], ROW)))[1])
    count = max(len(available), 1)
    return {
        "products_available": len(available),
        "similar_same_category_share_mean": round(statistics.fmean(same_category), 3) if same_category else None,
        "similar_rows_with_4_or_more": round(similar_full / count, 3),
        "bought_together_rows_with_4_or_more": round(together_full / count, 3),
        "products_with_an_associated_product": round(associated / count, 3),
        "both_rows": latency(row_ms),
        **timings,
    }
