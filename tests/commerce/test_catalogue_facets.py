"""Facets of a listing: OR within a facet, AND across facets, each facet counted under the others."""

from decimal import Decimal

import pytest
from django.http import QueryDict

from commerce.catalogue.facets import Buckets, Selection, counts, facets
from commerce.catalogue.models import Category, PriceList, Product
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def shop() -> dict[str, Product]:
    """Home (Kitchen, Textiles) and Garden: five products, two colours shared across departments."""
    home = CategoryFactory(name="Home")
    kitchen = CategoryFactory(name="Kitchen", parent=home)
    textiles = CategoryFactory(name="Textiles", parent=home)
    garden = CategoryFactory(name="Garden")

    def product(title, category, colour, material, price, stock):
        return ProductFactory(title=title, category=category, attributes={"colour": colour, "material": material},
                              base_price=Decimal(price), stock=stock)

    return {"mug": product("Mug", kitchen, "navy", "stoneware", "12.00", 5),
            "bowl": product("Bowl", kitchen, "sage", "stoneware", "30.00", 0),
            "cushion": product("Cushion", textiles, "navy", "linen", "25.00", 3),
            "throw": product("Throw", textiles, "oatmeal", "wool", "80.00", 2),
            "planter": product("Planter", garden, "sage", "terracotta", "8.00", 1)}


def facet_counts(query: str, buckets: Buckets | None = None):
    buckets = buckets or Buckets.below(None)
    return counts(Product.objects.active(), Selection.from_query(QueryDict(query), buckets), buckets)


def test_each_facet_is_counted_under_the_other_facets_only():
    shop()

    found, total = facet_counts("colour=navy&colour=sage&price=25-50")

    # navy or sage, £25 to £50: the bowl and the cushion.
    assert total == 2
    # Colours under the price band alone: adding oatmeal would find nothing priced £25–£50.
    assert found["colour"] == {"navy": 1, "sage": 1}
    # Bands under the colours alone: the planter (£8), the mug (£12), the bowl and cushion (£25, £30).
    assert found["price"] == {"0-10": 1, "10-25": 1, "25-50": 2}
    # Facets not selected are counted under the whole selection.
    assert found["material"] == {"stoneware": 1, "linen": 1}
    assert found["cat"] == {"home": 2}
    assert found["in_stock"] == {"true": 1, "false": 1}


def test_values_of_one_facet_are_ored_and_facets_are_anded():
    shop()
    buckets = Buckets.below(None)

    def listed(query):
        selection = Selection.from_query(QueryDict(query), buckets)
        return set(selection.filter(Product.objects.all(), buckets).values_list("title", flat=True))

    assert listed("colour=navy") == {"Mug", "Cushion"}
    assert listed("colour=navy&colour=sage") == {"Mug", "Bowl", "Cushion", "Planter"}
    assert listed("colour=navy&colour=sage&material=stoneware") == {"Mug", "Bowl"}
    assert listed("colour=navy&colour=sage&material=stoneware&in_stock=1") == {"Mug"}
    assert listed("cat=garden&cat=home&colour=sage") == {"Bowl", "Planter"}
    assert listed("cat=garden&colour=navy") == set()


def test_price_bands_include_their_low_edge_and_use_the_shoppers_price_list():
    products = shop()
    Product.objects.filter(pk=products["cushion"].pk).update(price=Decimal("24.99"))  # on sale below its band
    buckets = Buckets.below(None)
    selection = Selection.from_query(QueryDict("price=25-50"), buckets)

    current, _ = counts(Product.objects.all(), selection, buckets, PriceList.CURRENT)
    base, _ = counts(Product.objects.all(), selection, buckets, PriceList.BASE)

    assert current["price"] == {"0-10": 1, "10-25": 2, "25-50": 1, "50-100": 1}
    assert base["price"] == {"0-10": 1, "10-25": 1, "25-50": 2, "50-100": 1}
    assert set(selection.filter(Product.objects.all(), buckets, PriceList.CURRENT)) == {products["bowl"]}
    assert set(selection.filter(Product.objects.all(), buckets, PriceList.BASE)) == {products["bowl"],
                                                                                      products["cushion"]}


def test_in_stock_counts_what_is_left_and_unknown_values_are_ignored():
    shop()

    found, total = facet_counts("in_stock=1&price=nonsense&cat=no-such-department&colour=navy")

    assert total == 2  # the mug and the cushion: navy and in stock; the stale values change nothing
    assert found["in_stock"] == {"true": 2}


def test_a_category_page_facets_its_subcategories():
    shop()
    home = Buckets.below(Category.objects.get(slug="home"))

    found, total = counts(Product.objects.filter(category__parent__slug="home"),
                          Selection.from_query(QueryDict("colour=navy"), home), home)

    assert home.label == "Category" and list(home.slugs) == ["kitchen", "textiles"]
    assert total == 2 and found["cat"] == {"kitchen": 1, "textiles": 1}


def test_links_toggle_their_value_keep_the_rest_and_drop_the_page():
    shop()

    listed = facets(Product.objects.active(), QueryDict("q=mug&colour=navy&page=2"), Buckets.below(None))

    colours = {value.value: value for value in next(f for f in listed.facets if f.name == "colour").values}
    assert colours["navy"].selected and colours["navy"].url == "?q=mug"
    assert not colours["sage"].selected and colours["sage"].url == "?q=mug&colour=navy&colour=sage"
    assert colours["oatmeal"].count == 1  # oatmeal or navy: the throw would be added
    assert listed.clear_url == "?q=mug" and listed.hidden_fields == [("colour", "navy")]
    assert listed.total == 2


def test_the_category_page_shows_facets_with_counts_and_narrows_the_listing(client):
    shop()

    content = client.get("/shop/home/", {"colour": "sage"}).content.decode()

    assert "1 product" in content and "Bowl" in content and "Cushion" not in content
    assert 'aria-current="true"' in content and "sage <span class=\"facet__count\">(1)</span>" in content
    assert "navy <span class=\"facet__count\">(2)</span>" in content  # mug and cushion, were navy added
    assert "Clear all filters" in content


def test_an_empty_listing_has_no_facets():
    shop()

    listed = facets(Product.objects.filter(pk__in=[]), QueryDict("colour=navy"), Buckets.below(None))

    assert listed.total == 0 and [f.name for f in listed.facets] == ["colour"]  # the selected value, to untick
