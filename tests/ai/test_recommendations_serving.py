import datetime as dt
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.core.cache import cache
from django.utils import timezone

from ai.recommendations import serving
from ai.recommendations.models import CustomerRecommendations, RecommendationModel
from ai.recommendations.training import train_recommendations
from tests.factories import ProductFactory, stored_event

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent.parent


def listed(customer) -> list[int]:
    return list(CustomerRecommendations.objects.get(customer=customer).product_ids)


def test_home_serves_the_customers_list_from_redis_then_the_table(shop):
    products, customers = shop
    train_recommendations()
    customer = customers["newcomer"]

    from_redis = serving.recommend("home", customer_id=customer.pk, limit=5)
    cache.delete(serving.CUSTOMER_KEY.format(customer.pk))
    from_table = serving.recommend("home", customer_id=customer.pk, limit=5)

    assert [r.product.pk for r in from_redis] == [r.product.pk for r in from_table] == listed(customer)[:5]
    assert {r.strategy for r in from_table} == {"personalised"}
    assert cache.get(serving.CUSTOMER_KEY.format(customer.pk)) is not None  # refilled


def test_a_product_sold_out_after_precompute_is_not_served(shop):
    products, customers = shop
    train_recommendations()
    first = serving.recommend("home", customer_id=customers["newcomer"].pk, limit=3)[0].product
    first.stock = 0
    first.save()

    assert first.pk not in [r.product.pk for r in serving.recommend("home", customer_id=customers["newcomer"].pk)]


def test_stale_model_falls_back_to_popularity(shop):
    products, customers = shop
    model = train_recommendations()
    RecommendationModel.objects.filter(pk=model.pk).update(trained_at=timezone.now() - dt.timedelta(hours=9))
    cache.delete(serving.MODEL_KEY)

    served = serving.recommend("home", customer_id=customers["newcomer"].pk, limit=4)

    # the newcomer viewed coffee: popular coffee, not their (stale) personal list
    assert [(r.strategy, r.reason) for r in served] == [("category_popular", "Popular in Coffee")] * 4
    health = serving.model_health()
    assert health["stale"] and "twice" in health["message"]


def test_missing_model_is_reported_and_served_as_popularity(shop):
    products, customers = shop

    served = serving.recommend("home", customer_id=customers["coffee1"].pk)

    assert serving.model_health()["model"] is None
    assert served[0].strategy == "category_popular" and served[0].reason == "Popular in Coffee"
    assert {r.strategy for r in served} == {"category_popular", "popular"}


def test_version_names_the_current_model(shop):
    assert serving.version() == "no-model"

    model = train_recommendations()

    assert serving.version() == model.version


def test_visitor_without_a_list_gets_the_department_of_their_most_viewed_product(shop):
    products, _ = shop
    visitor = uuid.uuid4()
    stored_event("view", products["garden2"], visitor=visitor)
    stored_event("view", products["garden2"], visitor=visitor)
    stored_event("view", products["coffee1"], visitor=visitor)

    served = serving.recommend("home", visitor_id=visitor, limit=3)

    assert served[0].strategy == "category_popular" and served[0].reason == "Popular in Garden"
    assert all(r.product.category.name == "Garden" for r in served)


def test_nobody_gets_overall_popularity(shop):
    served = serving.recommend("home", limit=5)

    assert len(served) == 5 and {r.strategy for r in served} == {"popular"}
    assert all(r.product.active and r.product.stock > 0 for r in served)


def test_product_page_similar_then_department_popularity(shop):
    products, _ = shop
    train_recommendations()

    similar = serving.recommend("product", product_id=products["coffee2"].pk, limit=3)
    lonely = ProductFactory(category=products["garden0"].category)
    fallback = serving.recommend("product", product_id=lonely.pk, limit=3)

    assert similar[0].strategy == "similar" and similar[0].reason == "Similar to Coffee thing 2"
    assert products["coffee2"].pk not in [r.product.pk for r in similar]
    assert {r.strategy for r in fallback} == {"category_popular"}


def test_an_unknown_surface_is_refused():
    with pytest.raises(ValueError, match="Unknown surface"):
        serving.recommend("checkout")


# Run in a fresh interpreter: records which modules import scipy or implicit while Django starts and the
# modules web processes use are imported (other apps may load scipy for their own reasons).
IMPORT_CHECK = """
import builtins, sys
importers = set()
original = builtins.__import__
def recording(name, globals=None, *args, **kwargs):
    if name.split(".")[0] in ("scipy", "implicit"):
        importers.add((globals or {}).get("__name__", "?"))
    return original(name, globals, *args, **kwargs)
builtins.__import__ = recording
import django
django.setup()
import ai.recommendations.api, ai.recommendations.receivers, ai.recommendations.serving, ai.recommendations.tasks
print(sorted(name for name in importers if name.startswith("ai.recommendations")))
print(sorted(name for name in sys.modules if name.startswith(("implicit", "ai.recommendations.engine",
                                                             "ai.recommendations.training",
                                                             "ai.recommendations.refresh"))))
"""


def test_serving_and_what_web_processes_import_never_load_the_model_libraries():
    completed = subprocess.run([sys.executable, "-c", IMPORT_CHECK], capture_output=True, text=True, timeout=120,
                               cwd=ROOT, env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"})

    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.split("\n")[:2] == ["[]", "[]"]
