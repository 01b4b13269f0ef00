import uuid

import pytest
from django.core.cache import cache

from ai.search.models import SearchQuery
from ai.search.suggestions import LIMIT, suggest
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def searched(query: str, *, visitors: int = 2, results: int = 3, clicked=None) -> None:
    """``query`` in the log, once per visitor, each search finding ``results`` products."""
    for _ in range(visitors):
        SearchQuery.objects.create(query=query, normalized=query, visitor_id=uuid.uuid4(), result_count=results,
                                   clicked_product=clicked)


def texts(suggestions: list[dict], kind: str | None = None) -> list[str]:
    return [s["text"] for s in suggestions if kind is None or s["kind"] == kind]


def test_popular_queries_that_found_something_come_first_most_clicked_then_most_searched(catalogue):
    searched("coffee beans", visitors=3)
    searched("coffee dripper", visitors=2, clicked=catalogue["dripper"])
    searched("coffee grinder", visitors=4, results=0)

    suggestions = suggest("Cof")

    assert texts(suggestions)[:2] == ["coffee dripper", "coffee beans"]
    assert "coffee grinder" not in texts(suggestions)
    assert suggestions[0]["url"] == "/search/?q=coffee+dripper"


def test_a_query_only_one_visitor_searched_is_never_suggested(catalogue):
    searched("coffee for jane smith", visitors=1)

    assert "coffee for jane smith" not in texts(suggest("coffee"))


def test_title_words_complete_the_prefix_then_categories_come_last_with_their_url(catalogue):
    suggestions = suggest("co")

    assert texts(suggestions, "phrase") == ["coffee", "coffee dripper"]
    assert suggestions[-1] == {"text": "Coffee & Tea", "kind": "category", "url": "/shop/coffee-tea/"}


def test_prefixes_match_the_start_of_any_word_whatever_the_case(catalogue):
    assert texts(suggest("TEA")) == ["Coffee & Tea"]
    assert texts(suggest("GOOSE")) == ["gooseneck", "gooseneck kettle"]
    assert suggest("ettle") == []


def test_phrases_never_start_or_end_on_a_word_search_ignores(catalogue):
    assert suggest("wi") == []
    assert texts(suggest("trowel")) == ["trowel"]


def test_inactive_products_lend_no_words(catalogue):
    ProductFactory(title="Hidden Teapot", active=False)

    assert "teapot" not in texts(suggest("teap"))


def test_too_short_a_prefix_suggests_nothing(catalogue):
    searched("c", visitors=3)

    assert suggest(" c ") == []


def test_no_more_than_the_limit_are_suggested(catalogue):
    category = CategoryFactory(name="Lighting")
    for n in range(12):
        ProductFactory(title=f"Lantern {n}", category=category)

    assert len(suggest("lant")) == LIMIT


def test_a_prefix_suggestions_are_cached_until_they_expire(catalogue):
    first = suggest("gard")
    CategoryFactory(name="Gardening Books")

    assert suggest("Gard ") == first
    cache.clear()
    assert "Gardening Books" in texts(suggest("gard"))


def test_the_suggest_endpoint_answers_json_for_the_typed_prefix(client, catalogue):
    searched("garden spade", visitors=2)

    response = client.get("/search/suggest", {"q": "Gar"})

    assert response.status_code == 200
    assert response.json() == {"query": "Gar", "suggestions": [
        {"text": "garden spade", "kind": "query", "url": "/search/?q=garden+spade"},
        {"text": "Garden Tools", "kind": "category", "url": "/shop/garden-tools/"},
    ]}


def test_the_suggest_endpoint_answers_an_empty_list_to_nothing_typed(client, catalogue):
    assert client.get("/search/suggest").json() == {"query": "", "suggestions": []}
