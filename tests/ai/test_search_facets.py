"""Facets on the search page: counted over the query's candidates, narrowing the results they show."""

import re

import pytest
from django.test import Client

from commerce.catalogue.models import Product

pytestmark = pytest.mark.django_db


def shown(content: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'data-product-id="(\d+)"', content)}


def test_the_search_page_counts_facets_over_the_querys_candidates(catalogue):
    content = Client().get("/search/", {"q": "steel spade kettle"}).content.decode()

    assert {catalogue["kettle"].pk, catalogue["spade"].pk} <= shown(content)
    assert re.search(r"steel <span class=\"facet__count\">\(2\)</span>", content)
    assert re.search(r"Garden Tools <span class=\"facet__count\">\(\d\)</span>", content)
    assert "Clear all filters" not in content


def test_a_facet_narrows_the_results_and_the_other_facets_counts(catalogue):
    content = Client().get("/search/", {"q": "steel spade kettle", "material": "steel", "in_stock": "1"}
                           ).content.decode()

    assert shown(content) == {catalogue["kettle"].pk}  # the spade is steel but sold out
    assert "1 result for" in content
    # In stock counted under material=steel alone (the kettle); steel under in stock alone (the kettle).
    assert re.search(r"In stock <span class=\"facet__count\">\(1\)</span>", content)
    assert re.search(r"steel <span class=\"facet__count\">\(1\)</span>", content)
    assert 'href="?q=steel+spade+kettle&amp;in_stock=1"' in content  # unticking steel keeps the rest
    assert "Clear all filters" in content


def test_a_selection_that_matches_nothing_offers_to_clear_it(catalogue):
    content = Client().get("/search/", {"q": "steel spade kettle", "colour": "violet"}).content.decode()

    assert shown(content) == set()
    assert "Nothing matches all these filters" in content and 'href="?q=steel+spade+kettle"' in content



def test_a_product_retired_after_its_search_was_cached_is_neither_listed_nor_counted(catalogue):
    # given a search whose candidates are cached for anonymous shoppers
    first = Client().get("/api/v1/search", {"q": "steel spade kettle"}).json()
    assert catalogue["spade"].pk in {row["id"] for row in first["results"]}
    # when one of them is retired without a re-index (the cached list still names it)
    Product.objects.filter(pk=catalogue["spade"].pk).update(active=False)
    again = Client().get("/api/v1/search", {"q": "steel spade kettle"}).json()
    # then the search neither lists nor counts it
    listed = {row["id"] for row in again["results"]}
    assert catalogue["spade"].pk not in listed and catalogue["kettle"].pk in listed
    materials = {facet["name"]: facet for facet in again["facets"]["facets"]}["material"]
    assert {value["value"]: value["count"] for value in materials["values"]}["steel"] == 1
