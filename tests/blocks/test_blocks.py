import logging
import re

import pytest
from django.core.cache import cache
from django.test import Client
from wagtail.blocks import StructBlockValidationError

from ai.experiments import serving as experiments
from ai.recommendations import serving as recommendations
from ai.search import indexing
from ai.search import serving as search
from ai.search import tasks as search_tasks
from ai.search.models import SearchQuery
from blocks.blocks import (
    DynamicallyPricedProductBlock,
    OptionalSnippetChooserBlock,
    RecommendationCarouselBlock,
    SemanticSearchBlock,
    StorefrontStreamBlock,
)
from commerce.catalogue.services import set_current_price
from commerce.events.models import CustomerEvent
from commerce.events.services import drain_events
from tests.broker import queued_tasks
from tests.factories import (
    ExperimentFactory,
    ProductFactory,
    RecommendationRuleFactory,
    browse_as,
    indexed_catalogue,
    shopper_request,
    transition,
    visitor_in,
)

pytestmark = pytest.mark.django_db


def trending(count=4, **extra):
    return ("recommendations", {"title": "Trending now", "strategy": "trending", "count": count,
                                "fallback": "trending", **extra})


def test_trending_carousel_renders_rising_products_with_reasons(trained, publish):
    products, _ = trained
    publish(trending())
    html = Client().get("/").content.decode()
    assert "Trending now" in html and 'data-strategy="trending"' in html
    assert '<p class="carousel__reason">Trending now</p>' in html  # the shop's events are all new: all rising
    assert products["retired"].title not in html and products["sold_out"].title not in html


def test_similar_carousel_shows_the_products_like_the_chosen_one(trained, publish):
    products, _ = trained
    publish(("recommendations", {"title": "More like this", "strategy": "similar", "count": 3,
                                 "product": products["coffee2"].pk, "fallback": "hide"}))
    html = Client().get("/").content.decode()
    assert "Similar to Coffee thing 2" in html
    assert f'data-product-id="{products["coffee2"].pk}"' not in html


def test_carousel_with_a_cold_cache_and_no_history_hides_or_falls_back(wagtail_site, publish):
    publish(("recommendations", {"title": "Bought together", "strategy": "bought_together", "count": 4,
                                 "product": ProductFactory().pk, "fallback": "hide"}))
    response = Client().get("/")
    assert response.status_code == 200 and "Bought together" not in response.content.decode()


def test_a_raising_service_is_logged_and_replaced_by_the_fallback(trained, publish, monkeypatch, caplog):
    products, _ = trained

    def broken(*args, **kwargs):
        raise RuntimeError("recommendation store unreachable")

    monkeypatch.setattr(recommendations, "carousel", broken)
    publish(trending(), ("paragraph", "<p>Still here</p>"))
    with caplog.at_level(logging.ERROR):
        response = Client().get("/")
    html = response.content.decode()
    assert response.status_code == 200 and "Still here" in html
    assert "ai-block--fallback" in html and "Trending now" in html  # catalogue products instead
    assert "recommendation store unreachable" in caplog.text


def test_a_block_whose_fallback_fails_too_is_left_out(trained, publish, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("down")

    monkeypatch.setattr(recommendations, "carousel", broken)
    monkeypatch.setattr(RecommendationCarouselBlock, "fallback_products", broken)
    publish(trending(), ("paragraph", "<p>Still here</p>"))
    response = Client().get("/")
    assert response.status_code == 200 and "Still here" in response.content.decode()
    assert "Trending now" not in response.content.decode()


def test_shared_fragment_is_cached_and_retired_by_a_price_change_and_by_publishing(
        trained, publish, django_capture_on_commit_callbacks):
    products, _ = trained
    home, _ = publish(trending(count=8))
    first = Client().get("/").content.decode()
    shown = next(p for p in products.values() if f'data-product-id="{p.pk}"' in first)
    assert any(key.startswith("blocks:html:") for key in cache.keys("blocks:html:*"))

    with django_capture_on_commit_callbacks(execute=True):  # after commit the catalogue version moves
        set_current_price(shown.pk, shown.price - 1, expected=shown.price)
    assert f"{shown.price - 1:.2f}" in Client().get("/").content.decode()

    publish(trending(count=8, title="Fresh this week"))
    assert "Fresh this week" in Client().get("/").content.decode()


def test_personalised_carousel_renders_the_fallback_and_a_fragment_address(trained, publish):
    home, (block_id,) = publish(("recommendations", {"title": "Picked for you", "strategy": "personalised",
                                                      "count": 4, "fallback": "trending"}))
    html = Client().get("/").content.decode()
    assert f'data-fragment-url="/fragments/{home.pk}/{block_id}/"' in html
    assert 'data-strategy="trending"' in html  # the shared fallback, until the script swaps it


def test_a_carousel_with_a_running_experiment_is_per_shopper_and_records_the_exposure_of_its_variant(wagtail_site):
    experiment = ExperimentFactory()  # a: trending (control), b: personalised
    block = RecommendationCarouselBlock()
    stored = {"title": "Picked for you", "strategy": "trending", "count": 4, "category": None, "product": None,
              "fallback": "trending", "experiment": experiment.pk}
    visitor = visitor_in(experiment, "b")

    block.get_context(block.to_python(stored), {"personal_fragment": True, "request": shopper_request(visitor),
                                                "block_id": "b1"})

    assert block.is_per_shopper(stored)
    assert experiments.shown_experiment(shopper_request(visitor), "block:b1") == experiment.key  # its beacon's tag
    drain_events()
    assert [e.experiments for e in CustomerEvent.objects.filter(event_type="experiment_exposure")] == [
        {experiment.key: "b"}]
    transition(experiment, "pause")
    assert not block.is_per_shopper(stored)


def test_carousel_refuses_similar_without_a_product():
    block = RecommendationCarouselBlock()
    with pytest.raises(StructBlockValidationError) as error:
        block.clean(block.to_python({"title": "Like this", "strategy": "similar", "count": 4, "fallback": "hide"}))
    assert "Choose the product" in str(error.value.block_errors["product"])


def test_a_draft_may_hold_a_half_filled_carousel_or_curated_search_but_publishing_refuses_it():
    carousel, curated = RecommendationCarouselBlock(), SemanticSearchBlock()
    similar = carousel.to_python({"title": "Like this", "strategy": "similar", "count": 4, "fallback": "hide"})
    no_query = curated.to_python({"mode": "curated", "query": "", "in_stock": True, "count": 4})

    assert carousel.clean_deferred(similar)["strategy"] == "similar"  # what autosave and "Save draft" run
    assert curated.clean_deferred(no_query)["query"] == ""
    with pytest.raises(StructBlockValidationError):
        curated.clean(no_query)


def test_block_previews_say_their_products_are_a_sample(admin_client):
    stream = StorefrontStreamBlock()
    for name in ("product_grid", "semantic_search", "priced_products"):
        block_id = stream.child_blocks[name].definition_prefix

        preview = admin_client.get("/admin/block-preview/", {"id": block_id}).content.decode()

        assert "<strong>Sample.</strong>" in preview, name
        assert "css/vitrine.css" in preview  # styled like the shop


def test_curated_search_queues_nothing_and_serves_the_list_the_beat_task_cached(wagtail_site, publish,
                                                                                django_capture_on_commit_callbacks):
    lamp = ProductFactory(title="Brass Reading Lamp")
    value = {"title": "For readers", "mode": "curated", "query": "reading lamp", "in_stock": True, "count": 4}
    publish(("semantic_search", value))

    with django_capture_on_commit_callbacks(execute=True):
        Client().get("/")
        Client().get("/")
    assert queued_tasks("batch") == []  # a page asks for its list; it never queues a task

    indexing.index_products([lamp.pk])
    indexing.refresh_term_statistics()
    assert search_tasks.refresh_wanted_curated_results() == 1  # the beat task, as the worker runs it
    html = Client().get("/").content.decode()
    assert "For readers" in html and f'data-product-id="{lamp.pk}"' in html


def shown_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-product-id="(\d+)"', html)]


def test_a_page_viewed_before_its_curated_list_exists_shows_the_list_on_the_view_after_the_beat_task(
        wagtail_site, publish):
    # given an indexed catalogue and a curated block whose list nobody ran yet
    indexed_catalogue()
    block = SemanticSearchBlock()
    value = {"title": "For filter coffee", "mode": "curated", "query": "gooseneck kettle", "in_stock": True, "count": 2}
    publish(("semantic_search", value))
    fallback = block.fallback_products(block.to_python(value))
    first = shown_ids(Client().get("/").content.decode())

    # when the beat task caches the list the view asked for (and nothing is re-indexed)
    assert search_tasks.refresh_wanted_curated_results() == 1
    second = shown_ids(Client().get("/").content.decode())

    # then the first view showed the department meanwhile, and the next one the curated list
    curated = search.curated_results("gooseneck kettle", search.Filters(in_stock=True), 2)
    assert curated != fallback
    assert first == fallback and second == curated


def test_an_editors_preview_says_a_curated_list_is_being_computed_and_asks_for_it(wagtail_site, publish):
    # given a published curated block whose list was never run
    catalogue = indexed_catalogue()
    page, _ = publish(("semantic_search", {"title": "For filter coffee", "mode": "curated",
                                           "query": "gooseneck kettle", "in_stock": True, "count": 2}))

    # when an editor previews the page, the beat task runs, and the editor refreshes the preview
    before = page.make_preview_request().content.decode()
    refreshed = search_tasks.refresh_wanted_curated_results()
    after = page.make_preview_request().content.decode()

    # then the first preview says so instead of showing the fallback, and the refreshed one shows the list
    assert "are being computed" in before and shown_ids(before) == []
    assert refreshed == 1
    assert "are being computed" not in after and shown_ids(after)[0] == catalogue["kettle"].pk


def test_search_box_shows_results_for_what_the_shopper_typed(wagtail_site, publish):
    lamp = ProductFactory(title="Brass Reading Lamp")
    indexing.index_products([lamp.pk])
    indexing.refresh_term_statistics()
    publish(("semantic_search", {"title": "Find it", "mode": "box", "in_stock": True, "count": 4}))
    assert 'type="search"' in Client().get("/").content.decode()
    html = Client().get("/", {"q": "reading lamp"}).content.decode()
    assert f'data-product-id="{lamp.pk}"' in html
    assert 'value="reading lamp"' in html  # the box keeps what was typed


@pytest.fixture
def search_experiment():
    return ExperimentFactory(surface="search", primary_metric="search_conversion",
                             variants=[("hybrid", 50, "hybrid", True), ("keyword", 50, "keyword", False)])


def test_a_curated_search_block_shows_each_search_variant_its_own_list(wagtail_site, publish, search_experiment,
                                                                       monkeypatch):
    lamp, desk = ProductFactory(title="Brass Reading Lamp"), ProductFactory(title="Oak Writing Desk")
    lists = {False: [lamp.pk], True: [desk.pk]}  # what the task computed for hybrid and keyword-only
    monkeypatch.setattr(search, "curated_results", lambda *args, keyword_only: lists[keyword_only])
    publish(("semantic_search", {"title": "For readers", "mode": "curated", "query": "reading lamp",
                                 "in_stock": True, "count": 4}))
    hybrid, keyword = visitor_in(search_experiment, "hybrid"), visitor_in(search_experiment, "keyword")

    # Each twice, alternating: the second view of each is served from the shared HTML cache.
    pages = [browse_as(Client(), visitor).get("/").content.decode() for visitor in (keyword, hybrid, keyword, hybrid)]

    assert all(f'data-product-id="{desk.pk}"' in html and lamp.title not in html for html in pages[0::2])
    assert all(f'data-product-id="{lamp.pk}"' in html and desk.title not in html for html in pages[1::2])
    drain_events()
    exposed = CustomerEvent.objects.filter(event_type="experiment_exposure")
    assert sorted(e.experiments[search_experiment.key] for e in exposed) == ["hybrid", "keyword"]


def test_a_curated_search_block_served_from_the_shared_cache_still_records_the_viewers_exposure(
        wagtail_site, publish, search_experiment, monkeypatch):
    computed = []

    def curated_results(*args, keyword_only):
        computed.append(keyword_only)
        return []

    monkeypatch.setattr(search, "curated_results", curated_results)
    publish(("semantic_search", {"title": "For readers", "mode": "curated", "query": "reading lamp",
                                 "in_stock": True, "count": 4}))
    first, second = visitor_in(search_experiment, "keyword"), visitor_in(search_experiment, "keyword")

    for visitor in (first, second):
        browse_as(Client(), visitor).get("/")

    assert computed == [True, True]  # one read a view: the first's key and render share it, the second's HTML is cached
    drain_events()
    exposed = CustomerEvent.objects.filter(event_type="experiment_exposure")
    assert sorted(e.anonymous_id for e in exposed) == sorted([first, second])


def test_building_a_search_blocks_cache_key_reads_the_variant_and_records_nothing(wagtail_site, search_experiment):
    block = SemanticSearchBlock()
    stored = {"title": "", "mode": "curated", "query": "reading lamp", "in_stock": True, "count": 4}
    shopper = shopper_request(visitor_in(search_experiment, "keyword"))

    version = block.data_version(stored, shopper)

    assert version.endswith(":keyword")
    drain_events()
    assert not CustomerEvent.objects.filter(event_type="experiment_exposure").exists()
    assert experiments.shown_experiment(shopper, "search") is None


def test_a_search_box_searches_with_the_shoppers_variant_and_tags_the_search(wagtail_site, publish,
                                                                            search_experiment):
    lamp = ProductFactory(title="Brass Reading Lamp")
    indexing.index_products([lamp.pk])
    indexing.refresh_term_statistics()
    publish(("semantic_search", {"title": "Find it", "mode": "box", "in_stock": True, "count": 4}))
    shopper = browse_as(Client(), visitor_in(search_experiment, "keyword"))

    html = shopper.get("/", {"q": "reading lamp"}).content.decode()

    assert f'data-product-id="{lamp.pk}"' in html
    assert SearchQuery.objects.get().method == "keyword"
    drain_events()
    assert CustomerEvent.objects.get(event_type="search").experiments == {search_experiment.key: "keyword"}


def test_keyword_only_curated_lists_are_cached_apart_from_hybrid_ones(wagtail_site):
    lamp = ProductFactory(title="Brass Reading Lamp")
    indexing.index_products([lamp.pk])
    indexing.refresh_term_statistics()

    search.refresh_curated_results("reading lamp", search.Filters(), 4, keyword_only=True)

    assert search.curated_results("reading lamp", search.Filters(), 4, keyword_only=True) == [lamp.pk]
    assert search.curated_results("reading lamp", search.Filters(), 4) is None


def test_priced_products_show_the_live_price_struck_base_stock_and_add_to_cart(wagtail_site, publish):
    on_sale = ProductFactory(title="Linen Apron", base_price=20, prior_price=20)  # 20 the 30 days before
    sold_out = ProductFactory(title="Oak Board", stock=0)
    set_current_price(on_sale.pk, on_sale.base_price - 5, expected=on_sale.base_price)
    publish(("priced_products", {"title": "This week's prices", "products": [on_sale.pk, sold_out.pk]}))
    html = Client().get("/").content.decode()
    assert "15.00" in html and "<s class=\"price__was\">£20.00</s>" in html
    assert "Sold out" in html and 'action="/cart/add/"' in html and "csrfmiddlewaretoken" in html


def test_recently_viewed_is_per_shopper_and_trending_is_shared():
    block = RecommendationCarouselBlock()
    assert block.is_per_shopper({"strategy": "recently_viewed"})
    assert not block.is_per_shopper({"strategy": "trending"})


def test_every_ai_block_has_an_api_representation_and_a_realistic_preview(trained):
    products, _ = trained
    stream = StorefrontStreamBlock()
    curated = stream.child_blocks["semantic_search"]
    indexing.index_products([p.pk for p in products.values()])
    shown = curated.get_preview_value()  # its list, as the beat task caches it
    search.refresh_curated_results(shown["query"], curated.filters(shown), shown["count"])
    for name in ("recommendations", "semantic_search", "priced_products"):
        block = stream.child_blocks[name]
        preview = block.get_preview_value()
        html = block.render(preview, {})
        assert block.meta.description and block.meta.icon and block.meta.template
        assert "data-product-id" in html or "product-card" in html, name
        assert isinstance(block.get_api_representation(preview), dict)
    assert DynamicallyPricedProductBlock().get_api_representation(
        {"title": "", "products": [products["coffee1"]]})["products"][0]["price"] == "12.50"


def test_an_empty_optional_chooser_costs_no_query_and_a_filled_one_loads_its_object(django_assert_num_queries):
    chooser = OptionalSnippetChooserBlock("catalogue.Product", required=False)
    with django_assert_num_queries(0):
        assert chooser.bulk_to_python([None, None]) == [None, None]
    product = ProductFactory()
    assert chooser.bulk_to_python([None, product.pk]) == [None, product]


def test_a_raising_search_service_falls_back_to_the_department(wagtail_site, publish, monkeypatch, caplog):
    lamp = ProductFactory(title="Brass Reading Lamp")

    def broken(*args, **kwargs):
        raise RuntimeError("search index unavailable")

    monkeypatch.setattr(search, "curated_results", broken)
    publish(("semantic_search", {"title": "For readers", "mode": "curated", "query": "reading lamp",
                                 "in_stock": True, "count": 4}))
    with caplog.at_level(logging.ERROR):
        response = Client().get("/")
    html = response.content.decode()
    assert response.status_code == 200 and "ai-block--fallback" in html and lamp.title in html
    assert "search index unavailable" in caplog.text


def test_a_saved_recommendation_rule_retires_the_cached_carousel_at_once(trained, publish,
                                                                         django_capture_on_commit_callbacks):
    # given a trending carousel whose HTML is cached
    products, _ = trained
    publish(trending(count=4))
    first = Client().get("/").content.decode()
    shown = next(p for p in products.values() if f'data-product-id="{p.pk}"' in first)

    # when a rule hides the product it shows
    with django_capture_on_commit_callbacks(execute=True):
        RecommendationRuleFactory(placements=["trending"], hidden_products=[shown])
    html = Client().get("/").content.decode()

    # then
    assert f'data-product-id="{shown.pk}"' not in html and html.count("data-product-id=") == first.count(
        "data-product-id=")


def test_a_product_grid_is_shared_html_retired_by_a_price_change(wagtail_site, publish,
                                                                 django_capture_on_commit_callbacks):
    # given a live page with a hand-picked grid, viewed once
    mug = ProductFactory(title="Speckled mug", base_price=20)
    publish(("product_grid", {"title": "Our picks", "products": [mug.pk]}))
    assert "£20.00" in Client().get("/").content.decode()
    [cached_grid] = [cache.get(key) for key in cache.keys("blocks:html:*")]
    assert "Speckled mug" in cached_grid
    # when the price moves
    with django_capture_on_commit_callbacks(execute=True):
        set_current_price(mug.pk, mug.base_price - 5, expected=mug.base_price)
    # then the next view shows it
    assert "£15.00" in Client().get("/").content.decode()
