"""Shop and category listings are rendered once per key and served from the cache: a product, price or
category change shows at the next view, a shopper paying another price list never sees this one's prices,
and with Redis down the pages still render."""

import pytest
from django.core.cache import cache
from django.test import Client

from commerce.catalogue.models import PriceList
from commerce.catalogue.services import set_current_price
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

UNREACHABLE_REDIS = {"default": {
    "BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://127.0.0.1:9/0",
    "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2}}}


# This module is also the shop's experiments provider (the ``base_price_list`` fixture names it): shoppers
# who send the header below pay the base price, as a pricing experiment's holdout does.
def price_list(request):
    return PriceList.BASE if request.headers.get("X-Holdout") else PriceList.CURRENT


def experiment_tags(request):
    return {}


def surface_tags(request, surface):
    return {}


@pytest.fixture
def base_price_list(settings):
    settings.VITRINE_SHOPPER_EXPERIMENTS = __name__


def listing_fragments() -> list[str]:
    return [cache.get(key) for key in cache.keys("catalogue:listing:*")]


def test_a_listing_is_rendered_once_and_served_from_the_cache(client):
    # given a category with a product, viewed once
    lamp = ProductFactory(title="Brass desk lamp")
    first = client.get(lamp.category.get_absolute_url())
    # when it is viewed again
    second = client.get(lamp.category.get_absolute_url())
    # then the cached listing is what both show
    [fragment] = listing_fragments()
    assert "Brass desk lamp" in fragment
    assert fragment in first.content.decode() and fragment in second.content.decode()


def test_each_page_sort_and_facet_selection_has_its_own_listing(client, settings):
    settings.VITRINE_PRODUCTS_PER_PAGE = 1
    category = CategoryFactory()
    ProductFactory(title="Apple crate", category=category, base_price=5)
    ProductFactory(title="Zinc bucket", category=category, base_price=50)
    url = category.get_absolute_url()
    # when the shopper turns the page and sorts
    pages = [client.get(url, query).content.decode() for query in
             ({"sort": "price"}, {"sort": "price", "page": 2}, {"sort": "-price"})]
    # then each shows its own products
    assert "Apple crate" in pages[0] and "Zinc bucket" not in pages[0]
    assert "Zinc bucket" in pages[1] and "Apple crate" not in pages[1]
    assert "Zinc bucket" in pages[2]
    assert len(listing_fragments()) == 3


def test_a_price_change_shows_at_the_next_view(client, django_capture_on_commit_callbacks):
    # given a listing cached with a price
    mug = ProductFactory(title="Speckled mug", base_price=20)
    assert "£20.00" in client.get("/shop/").content.decode()
    # when pricing moves the price
    with django_capture_on_commit_callbacks(execute=True):
        set_current_price(mug.pk, mug.base_price - 5, expected=mug.base_price)
    # then the shop shows the new price, not the cached HTML
    page = client.get("/shop/").content.decode()
    assert "£15.00" in page and "£20.00" not in page  # the new price; no prior price recorded, so no reduction


def test_a_product_edit_shows_at_the_next_view(client, django_capture_on_commit_callbacks):
    mug = ProductFactory(title="Speckled mug")
    assert "Speckled mug" in client.get(mug.category.get_absolute_url()).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        mug.title = "Glazed mug"
        mug.save()
    page = client.get(mug.category.get_absolute_url()).content.decode()
    assert "Glazed mug" in page and "Speckled mug" not in page


def test_a_category_rename_shows_in_the_cached_facets(client, django_capture_on_commit_callbacks):
    # given the shop's listing, its department facet naming a category
    department = CategoryFactory(name="Kitchen")
    ProductFactory(category=department)
    assert "Kitchen" in client.get("/shop/").content.decode()
    # when the category is renamed
    with django_capture_on_commit_callbacks(execute=True):
        department.name = "Cookware"
        department.save()
    # then the shop's listing names it anew
    facets = client.get("/shop/").content.decode().split('<nav class="facets"')[1].split("</nav>")[0]
    assert "Cookware" in facets and "Kitchen" not in facets


def test_a_shopper_on_another_price_list_never_gets_this_ones_prices(
        base_price_list, django_capture_on_commit_callbacks):
    # given a discounted product, its listing cached for shoppers paying the current price
    mug = ProductFactory(title="Speckled mug", base_price=20)
    with django_capture_on_commit_callbacks(execute=True):
        set_current_price(mug.pk, mug.base_price - 5, expected=mug.base_price)
    current = Client().get("/shop/").content.decode()
    # when a shopper on the base price list views the same listing
    holdout = Client(HTTP_X_HOLDOUT="1").get("/shop/").content.decode()
    # then each sees their own price, each from a listing of its own
    assert "£15.00" in current
    assert "£20.00" in holdout and "£15.00" not in holdout
    assert len(listing_fragments()) == 2


def test_with_redis_down_the_shop_and_category_pages_still_render(client, settings):
    lamp = ProductFactory(title="Brass desk lamp")
    settings.CACHES = UNREACHABLE_REDIS
    for url in ("/shop/", lamp.category.get_absolute_url()):
        response = client.get(url)
        assert response.status_code == 200 and "Brass desk lamp" in response.content.decode()
