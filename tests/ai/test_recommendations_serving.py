import datetime as dt
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.core.cache import cache
from django.utils import timezone

from ai.common import CarouselStrategy
from ai.recommendations import serving
from ai.recommendations.models import CustomerRecommendations, RecommendationModel
from ai.recommendations.training import train_recommendations
from tests.factories import CustomerFactory, ProductFactory, placed_order, stored_event

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


def coffee_with_garden(products, times: int = 3) -> None:
    """Orders of coffee0 with garden4: the coffee and garden departments become complementary."""
    for _ in range(times):
        placed_order(products["coffee0"], products["garden4"])


def test_similar_products_stay_mostly_in_the_products_category(shop):
    # given
    products, _ = shop
    train_recommendations()

    # when
    similar = serving.carousel(CarouselStrategy.SIMILAR, product_id=products["coffee2"].pk, limit=4)

    # then
    assert len(similar) == 4 and {r.product.category.name for r in similar} == {"Coffee"}
    assert {r.strategy for r in similar} == {"similar"}


def test_bought_together_is_by_association_then_the_categorys_complements(shop):
    # given: coffee0 is bought with garden4; coffee3 with nothing in particular
    products, _ = shop
    coffee_with_garden(products)
    train_recommendations()

    # when
    together = serving.carousel(CarouselStrategy.BOUGHT_TOGETHER, product_id=products["coffee0"].pk, limit=4)
    complements = serving.carousel(CarouselStrategy.BOUGHT_TOGETHER, product_id=products["coffee3"].pk, limit=4)

    # then
    assert (together[0].product, together[0].strategy) == (products["garden4"], "bought_together")
    assert len(complements) == 4 and {r.strategy for r in complements} == {"complementary"}
    assert {r.product.category.name for r in complements} == {"Garden"}
    assert complements[0].reason == "Goes well with Coffee thing 3"


def test_the_cart_falls_back_to_its_products_complements(shop):
    # given
    products, _ = shop
    coffee_with_garden(products)
    train_recommendations()

    # when
    served = serving.recommend("cart", cart_product_ids=[products["coffee3"].pk], limit=4)
    row = serving.complementary([products["coffee3"].pk], 6)

    # then
    assert served[0].strategy == "complementary" and served[0].product.category.name == "Garden"
    assert len(row) == 6 and products["coffee3"].pk not in [r.product.pk for r in row]


def test_trending_rows_rising_products_first_then_popular_ones():
    # given: a steady seller bought every day for a month, and a newcomer viewed six times today
    steady, rising = ProductFactory(title="Steady"), ProductFactory(title="Rising")
    for day in range(30):
        stored_event("purchase", steady, hours_ago=24 * day + 1)
    for _ in range(6):
        stored_event("view", rising)

    # when
    served = serving.carousel(CarouselStrategy.TRENDING, limit=10)

    # then: the steady seller is popular, not trending
    assert [(r.product, r.strategy, r.reason) for r in served] == [
        (rising, "trending", "Trending now"), (steady, "popular", "Popular right now")]


def test_buy_again_offers_the_shoppers_repeat_purchases_that_are_due(shop):
    # given
    products, _ = shop
    customer = CustomerFactory()
    for days_ago in (21, 14, 7):
        placed_order(products["coffee1"], customer=customer, days_ago=days_ago)
    placed_order(products["garden1"], customer=customer, days_ago=30)  # once: no cadence

    # when
    served = serving.carousel(CarouselStrategy.BUY_AGAIN, customer_id=customer.pk)
    surface = serving.recommend("buy_again", customer_id=CustomerFactory().pk, limit=3)

    # then
    assert [(r.product, r.reason) for r in served] == [(products["coffee1"], "You buy this about every 7 days")]
    assert len(surface) == 3 and {r.strategy for r in surface} == {"popular"}  # nothing due: popular fills


def test_because_you_viewed_is_seeded_by_the_last_viewed_product(shop):
    # given
    products, customers = shop
    train_recommendations()
    visitor = uuid.uuid4()
    stored_event("view", products["garden3"], visitor=visitor, hours_ago=2)
    stored_event("view", products["coffee2"], visitor=visitor, hours_ago=1)

    # when
    served = serving.carousel(CarouselStrategy.BECAUSE_VIEWED, visitor_id=visitor, limit=3)

    # then
    assert len(served) == 3 and {r.reason for r in served} == {"Because you viewed Coffee thing 2"}
    assert {r.strategy for r in served} == {"because_viewed"}
    assert products["coffee2"].pk not in [r.product.pk for r in served]
    assert serving.carousel(CarouselStrategy.BECAUSE_VIEWED, visitor_id=uuid.uuid4()) == []


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


def test_a_shoppers_list_version_changes_with_each_write_of_either_of_their_lists():
    # given a signed-in customer who also has a visitor id, none of whose lists was written yet
    customer_id, visitor = 7, uuid.uuid4()
    unwritten = serving.shopper_list_version(customer_id, visitor)

    # when their visitor list is written, then their customer list, then another customer's
    cache.set_many(serving.new_list_version(visitor_id=visitor))
    after_visitor_list = serving.shopper_list_version(customer_id, visitor)
    cache.set_many(serving.new_list_version(customer_id=customer_id))
    after_customer_list = serving.shopper_list_version(customer_id, visitor)
    cache.set_many(serving.new_list_version(customer_id=customer_id + 1))

    # then each of their own writes gave a new version, and another shopper's write none
    assert len({unwritten, after_visitor_list, after_customer_list}) == 3
    assert serving.shopper_list_version(customer_id, visitor) == after_customer_list
    assert serving.shopper_list_version(None, visitor) != serving.shopper_list_version(None, uuid.uuid4())
