import json
import uuid

import pytest
from django.test import Client

from ai.search import indexing
from ai.search.models import SearchQuery
from commerce.events.services import redis_client
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def lamp():
    product = ProductFactory(title="Brass Reading Lamp", description="A warm light for the armchair.")
    indexing.index_products([product.pk])
    indexing.refresh_term_statistics()
    return product


def test_search_api_returns_ranked_products_and_a_query_id(lamp):
    response = Client().get("/api/v1/search", {"q": "reading lamp"})
    assert response.status_code == 200
    body = response.json()
    assert body["method"] == "hybrid"
    assert body["results"][0]["id"] == lamp.pk
    assert body["results"][0]["url"] == lamp.get_absolute_url()
    assert SearchQuery.objects.filter(pk=body["query_id"]).exists()


@pytest.mark.parametrize(("params", "reason"), [
    ({}, "required"),
    ({"q": "   "}, "Type something"),
    ({"q": "x" * 513}, "512 characters"),
    ({"q": "lamp", "limit": "0"}, "greater than or equal to 1"),
    ({"q": "lamp", "limit": "many"}, "valid integer"),
    ({"q": "lamp", "category": "999999"}, "Unknown category"),
    ({"q": "lamp", "min_price": "10", "max_price": "5"}, "min_price must not exceed max_price"),
    ({"q": "lamp", "min_price": "1e3"}, "Enter an amount such as 12 or 12.50."),
    ({"q": "lamp", "max_price": "-5"}, "Enter an amount such as 12 or 12.50."),
    ({"q": "lamp\x00"}, "cannot contain a NUL character"),  # refused by vitrine.middleware before the view
])
def test_bad_search_requests_get_400_with_the_reason(params, reason, lamp):
    response = Client().get("/api/v1/search", params)
    assert response.status_code == 400
    assert reason in json.dumps(response.json())


def test_search_page_renders_results_and_routes_clicks_through_the_log(lamp):
    client = Client()
    page = client.get("/search/", {"q": "lamp"})
    assert page.status_code == 200
    assert "Brass Reading Lamp" in page.content.decode()
    entry = SearchQuery.objects.get()

    click = client.get(f"/search/click/{entry.pk}/{lamp.pk}/")
    assert click.status_code == 302 and click["Location"] == lamp.get_absolute_url()
    entry.refresh_from_db()
    assert entry.clicked_product == lamp


def test_search_page_explains_a_bad_query_instead_of_failing():
    response = Client().get("/search/", {"q": "x" * 600})
    assert response.status_code == 400
    assert "512 characters" in response.content.decode()
    assert Client().get("/search/").status_code == 200  # no query: just the form


def test_saving_a_product_queues_its_reindex_on_the_default_queue(django_capture_on_commit_callbacks):
    category = CategoryFactory()
    with django_capture_on_commit_callbacks(execute=True):
        ProductFactory(category=category)
    assert redis_client().llen("default") == 1  # the Celery message waits in the broker's queue


def test_a_bulk_import_queues_re_embedding_of_the_changed_products(tmp_path, django_capture_on_commit_callbacks):
    from commerce.catalogue.importer import import_catalogue

    path = tmp_path / "catalogue.csv"
    path.write_text("title,category,price\nOak Stool,Furniture > Stools,45.00\n")
    with django_capture_on_commit_callbacks(execute=True):
        import_catalogue(path)
    message = json.loads(redis_client().lindex("batch", 0))
    assert message["headers"]["task"] == "ai.search.tasks.reembed_products"


def test_admin_search_report_lists_top_and_zero_result_queries(admin_client, lamp):
    from ai.search.models import SearchQuery

    SearchQuery.objects.bulk_create(
        [SearchQuery(query="lamp", normalized="lamp", result_count=3, clicked_product=lamp)] * 3
        + [SearchQuery(query="flux capacitor", normalized="flux capacitor", result_count=0)]
    )
    response = admin_client.get("/admin/reports/search/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "lamp" in page and "flux capacitor" in page
    assert "4 searches" in page and "click-through 75%" in page


def test_admin_search_report_needs_permission(client, django_user_model):
    from django.contrib.auth.models import Permission

    editor = django_user_model.objects.create_user("editor", password="pw")
    editor.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(editor)
    assert client.get("/admin/reports/search/").status_code in (302, 403)
    assert '"url": "/admin/reports/search/"' not in client.get("/admin/").content.decode()  # nor in the menu


def test_the_search_report_is_in_the_reports_menu_of_those_allowed(admin_client, wagtail_site):
    assert '"url": "/admin/reports/search/"' in admin_client.get("/admin/").content.decode()


def test_the_api_finds_nothing_for_a_query_nothing_matches_and_the_report_lists_it(catalogue, admin_client):
    body = Client().get("/api/v1/search", {"q": "Quantum flux capacitor"}).json()

    assert body["results"] == [] and body["query"] == "quantum flux capacitor" and body["corrected_query"] is None
    assert SearchQuery.objects.get(pk=body["query_id"]).result_count == 0
    report = admin_client.get("/admin/reports/search/").content.decode()
    assert "<td>quantum flux capacitor</td><td>1</td>" in report and "Every search found something" not in report


def test_the_api_returns_the_query_and_its_correction_and_searches_as_typed_on_request(spelling):
    corrected = Client().get("/api/v1/search", {"q": "lether wallet"}).json()
    exact = Client().get("/api/v1/search", {"q": "lether wallet", "exact": "true"}).json()

    assert (corrected["query"], corrected["corrected_query"]) == ("lether wallet", "leather wallet")
    assert corrected["corrected_terms"] == {"lether": "leather"}
    assert (exact["query"], exact["corrected_query"], exact["corrected_terms"]) == ("lether wallet", None, {})
    assert spelling["bifold"].pk in [row["id"] for row in corrected["results"]]


@pytest.mark.parametrize("query", ["boots", "lovers", "toaster", "plorth"])
def test_the_api_leaves_real_and_unknown_words_uncorrected(spelling, query):
    body = Client().get("/api/v1/search", {"q": query}).json()
    assert body["corrected_query"] is None and body["corrected_terms"] == {}


def test_the_api_ranks_a_sold_out_best_match_after_the_products_in_stock(spelling):
    rows = Client().get("/api/v1/search", {"q": "leather wallet"}).json()["results"]

    assert rows[-1]["id"] == spelling["wallet"].pk and not rows[-1]["in_stock"]
    assert all(row["in_stock"] for row in rows[:-1])


def test_the_search_page_says_nothing_matched_and_suggests_popular_searches_and_departments(catalogue):
    for _ in range(2):  # two shoppers' searches: one visitor's query is never shown to others
        SearchQuery.objects.create(query="gooseneck kettle", normalized="gooseneck kettle", result_count=1,
                                   clicked_product=catalogue["kettle"], visitor_id=uuid.uuid4())
    response = Client().get("/search/", {"q": "xyzzy qwfp plorth"})
    page = response.content.decode()

    assert response.status_code == 200
    assert "No results for “xyzzy qwfp plorth”." in page and "data-product-id" not in page
    assert '<a href="/search/?q=gooseneck%20kettle">gooseneck kettle</a>' in page
    garden = catalogue["spade"].category
    assert f'<a href="{garden.get_absolute_url()}">{garden.name}</a>' in page
    assert SearchQuery.objects.get(normalized="xyzzy qwfp plorth").result_count == 0


def test_the_search_page_shows_the_corrected_query_and_links_to_the_query_as_typed(spelling):
    corrected = Client().get("/search/", {"q": "lether wallet"}).content.decode()
    exact = Client().get("/search/", {"q": "lether wallet", "exact": "1"}).content.decode()

    assert ('Showing results for <strong>leather wallet</strong> — search instead for '
            '<a href="/search/?q=lether%20wallet&amp;exact=1">lether wallet</a>') in corrected
    assert "Showing results for" not in exact and "for “lether wallet”" in exact


def test_the_search_page_shows_a_sold_out_best_match_after_the_products_in_stock(spelling):
    page = Client().get("/search/", {"q": "leather wallet"}).content.decode()
    assert page.index(f'data-product-id="{spelling["bifold"].pk}"') < page.index(
        f'data-product-id="{spelling["wallet"].pk}"')


def facet_counts(facets) -> dict[str, dict[str, tuple[int, bool]]]:
    """The API's facets as {facet: {value: (count, selected)}}."""
    return {facet["name"]: {value["value"]: (value["count"], value["selected"]) for value in facet["values"]}
            for facet in facets["facets"]}


def test_the_api_returns_the_facets_the_search_page_shows_for_the_same_query_and_filters(catalogue):
    # given
    params = {"q": "steel coffee kettle", "max_price": "40", "in_stock": "1"}

    # when
    api = Client().get("/api/v1/search", params).json()
    page = Client().get("/search/", params).context["facets"]

    # then
    shown = {facet.name: {value.value: (value.count, value.selected) for value in facet.values}
             for facet in page.facets}
    assert facet_counts(api["facets"]) == shown
    assert api["facets"]["total"] == page.total == 1  # the dripper: the spade is sold out, the kettle £45
    assert shown["material"] == {"ceramic": (1, False)}
    assert shown["in_stock"] == {"1": (1, True)}


def test_facet_values_chosen_in_the_api_narrow_the_results_as_on_the_search_page(catalogue):
    # given "steel coffee kettle" finds the dripper, the kettle and the spade (steel; sold out)
    params = {"q": "steel coffee kettle", "material": ["steel"], "price": ["25-50"]}
    garden = catalogue["spade"].category.slug

    # when the API and the page are asked for steel, priced 25–50, then steel in the garden department
    api = Client().get("/api/v1/search", params).json()
    page = Client().get("/search/", params).context["facets"]
    in_garden = Client().get("/api/v1/search", {**params, "cat": [garden]}).json()

    # then both narrow to the same products and mark the same choices
    assert sorted(r["id"] for r in api["results"]) == sorted([catalogue["kettle"].pk, catalogue["spade"].pk])
    assert api["facets"]["total"] == page.total == 2
    counts = facet_counts(api["facets"])
    assert counts["material"] == {"steel": (2, True)}  # the ceramic dripper, £24, is outside the band
    assert counts["price"] == {"25-50": (2, True)}  # under "steel": no steel product in another band
    assert [r["id"] for r in in_garden["results"]] == [catalogue["spade"].pk]


@pytest.mark.parametrize(("params", "reason"), [
    ({"cat": "no-such-department"}, "Unknown department no-such-department"),
    ({"price": "10-11"}, "is not a valid choice"),
])
def test_unknown_facet_values_in_the_api_are_a_400_with_the_reason(catalogue, params, reason):
    response = Client().get("/api/v1/search", {"q": "kettle", **params})
    assert response.status_code == 400 and reason in json.dumps(response.json())


def test_the_api_takes_every_attribute_facet_the_page_offers():
    from ai.search.api import SearchParamsSerializer
    from commerce.catalogue.facets import PARAMETERS

    assert set(PARAMETERS) <= set(SearchParamsSerializer().fields)


def test_the_facets_count_every_candidate_the_results_are_cut_to_the_limit(catalogue):
    # when
    body = Client().get("/api/v1/search", {"q": "steel coffee kettle", "limit": "1"}).json()

    # then
    assert len(body["results"]) == 1
    assert body["facets"]["total"] == 3
    assert facet_counts(body["facets"])["material"] == {"steel": (2, False), "ceramic": (1, False)}


def test_in_stock_leaves_out_sold_out_results_and_is_the_selected_availability_facet(catalogue):
    # when
    body = Client().get("/api/v1/search", {"q": "steel spade", "in_stock": "yes"}).json()

    # then
    assert catalogue["spade"].pk not in [result["id"] for result in body["results"]]
    assert facet_counts(body["facets"])["in_stock"]["1"][1] is True


def test_search_results_priced_for_this_shopper_come_with_the_disclosure(lamp, settings):
    # everyone pays the list price
    assert Client().get("/api/v1/search", {"q": "reading lamp"}).json()["price_disclosure"] is None
    # a pricing experiment's shopper on the base price
    settings.VITRINE_SHOPPER_EXPERIMENTS = "tests.base_price_shoppers"
    body = Client().get("/api/v1/search", {"q": "reading lamp"}).json()
    assert body["price_disclosure"] == settings.VITRINE_PERSONALISED_PRICE_DISCLOSURE
    assert body["results"][0]["price"] == f"{lamp.base_price:.2f}"
