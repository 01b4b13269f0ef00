import datetime as dt
import logging
import uuid

import numpy as np
import pytest
from django.core.cache import cache
from django.utils import timezone

from ai import embeddings
from ai.search import indexing, serving
from ai.search.models import ProductEmbedding, SearchQuery
from ai.search.serving import Filters
from commerce.catalogue.models import Product
from tests.factories import CustomerFactory, ProductFactory, embedding, ranked_ids, stored_event
from vitrine.log import FirstPerInterval

pytestmark = pytest.mark.django_db


def test_reciprocal_rank_fusion_favours_items_ranked_high_in_several_lists():
    fused = ranked_ids(serving.reciprocal_rank_fusion([[1, 2, 3], [3, 1, 4]], k=60))
    assert fused == [1, 3, 2, 4]  # 1 and 3 are in both lists; 1 ranks higher in them
    weighted = dict(serving.reciprocal_rank_fusion([[1], [2]], k=60, weights=[1.0, 0.5]))
    assert weighted[1] == pytest.approx(2 * weighted[2])  # a list's weight scales its contribution


def test_personalisation_lifts_near_ties_in_preferred_categories_but_not_clearly_worse_matches(catalogue):
    # given a garden product just ahead of a coffee product, and a coffee product far behind
    ranked = [(catalogue["spade"].pk, 1.0), (catalogue["dripper"].pk, 0.9), (catalogue["kettle"].pk, 0.6)]
    coffee, garden = catalogue["dripper"].category_id, catalogue["spade"].category_id

    # when a shopper who mostly likes coffee gets them
    boosted = serving.personalise(ranked, [(coffee, 3.0), (garden, 1.0)])

    # then the near tie flips, the clearly worse match stays behind, and no preferences change nothing
    assert ranked_ids(boosted) == [catalogue["dripper"].pk, catalogue["spade"].pk, catalogue["kettle"].pk]
    assert serving.personalise(ranked, []) == ranked


def test_search_for_a_known_customer_moves_their_favourite_category_up(catalogue):
    # given a customer who buys coffee things, and a query a garden product wins for everyone else (the
    # spade restocked, so that stock does not order them)
    Product.objects.filter(pk=catalogue["spade"].pk).update(stock=5)
    customer = CustomerFactory()
    for _ in range(3):
        stored_event("purchase", catalogue["dripper"], customer=customer)
    anonymous = serving.search("steel", log=False).product_ids
    assert anonymous.index(catalogue["spade"].pk) < anonymous.index(catalogue["kettle"].pk)

    # when the customer searches
    personal = serving.search("steel", customer_id=customer.pk, log=False).product_ids

    # then the coffee kettle moves above the spade
    assert personal.index(catalogue["kettle"].pk) < personal.index(catalogue["spade"].pk)
    assert personal.index(catalogue["kettle"].pk) < anonymous.index(catalogue["kettle"].pk)


def test_hybrid_keeps_confident_keyword_order_and_leads_with_semantic_when_unsure(catalogue, monkeypatch):
    p = catalogue
    semantic = [(p["dripper"].pk, 0.6), (p["spade"].pk, 0.5), (p["trowel"].pk, 0.4)]
    monkeypatch.setattr(serving, "semantic_search", lambda query, **kwargs: semantic)
    ranked, _, method = serving.hybrid_rank("gooseneck kettle")
    assert method == "hybrid" and ranked[0][0] == p["kettle"].pk  # BM25's best stays first
    ranked, _, _ = serving.hybrid_rank("kettle for a zafu cushion")
    assert ranked[0][0] == p["dripper"].pk  # the keyword list is unsure: the semantic list leads
    assert p["kettle"].pk in ranked_ids(ranked)


def test_anonymous_results_are_cached_until_the_index_changes(catalogue, django_assert_num_queries):
    first = serving.search("kettle", log=False)
    with django_assert_num_queries(0):
        again = serving.search("kettle", log=False)
    assert again.product_ids == first.product_ids

    new = ProductFactory(title="Electric Kettle", category=catalogue["kettle"].category)
    indexing.index_products([new.pk])  # bumps the index version
    assert new.pk in serving.search("kettle", log=False).product_ids


def test_the_version_is_zero_until_the_first_index_then_changes_with_it():
    assert serving.version() == "0"
    indexing.index_products([ProductFactory().pk])
    assert serving.version() not in {"0", ""}


def test_a_failing_encoder_degrades_to_keyword_results(catalogue, monkeypatch, caplog):
    def broken(text):
        raise RuntimeError("model file missing")

    monkeypatch.setattr(embeddings, "encode_query", broken)
    results = serving.search("gooseneck kettle", log=False)
    assert results.method == "keyword"
    assert results.product_ids[0] == catalogue["kettle"].pk
    assert "semantic search failed" in caplog.text


def test_searches_are_logged_with_clicks_and_conversions(catalogue):
    visitor = uuid.uuid4()
    results = serving.search("kettle", visitor_id=visitor)
    entry = SearchQuery.objects.get(pk=results.query_log_id)
    assert (entry.query, entry.result_count) == ("kettle", len(results.product_ids))

    assert not serving.record_click(entry.pk, catalogue["kettle"].pk, visitor_id=uuid.uuid4())  # not theirs
    assert serving.record_click(entry.pk, catalogue["kettle"].pk, visitor_id=visitor)
    assert serving.mark_conversions(visitor, None, [catalogue["kettle"].pk]) == 1
    entry.refresh_from_db()
    assert entry.clicked_product == catalogue["kettle"] and entry.converted


def test_a_missing_curated_list_is_asked_for_once_however_many_pages_miss_it(catalogue):
    # given a curated query nobody ran yet
    in_stock = Filters(in_stock=True)

    # when two pages ask for its list
    first = serving.curated_results("reading lamp", in_stock, 4)
    second = serving.curated_results("reading lamp", in_stock, 4)

    # then neither gets one, and the beat task finds the query wanted once
    assert first is None and second is None
    assert serving.take_wanted_curated_results(10) == [
        {"query": "reading lamp", "filters": {"category_id": None, "min_price": None, "max_price": None,
                                              "in_stock": True, "price_list": "current"},
         "limit": 4, "keyword_only": False}]
    assert serving.take_wanted_curated_results(10) == []


def test_a_curated_list_is_served_from_the_cache_until_a_reindex_retires_it(catalogue):
    cached = serving.refresh_curated_results("gooseneck kettle", Filters(), 2)
    assert cached[0] == catalogue["kettle"].pk
    assert serving.curated_results("gooseneck kettle", Filters(), 2) == cached
    assert serving.take_wanted_curated_results(10) == []  # a cached list is not asked for

    indexing.index_products([catalogue["kettle"].pk], force=True)

    assert serving.curated_results("gooseneck kettle", Filters(), 2) is None


def test_a_curated_miss_while_redis_fails_returns_none_and_logs_once(catalogue, settings, tmp_path, caplog,
                                                                     monkeypatch):
    # given Redis answered once, then its socket is gone (a plain connection: nothing restarts it), and no
    # earlier outage line holds the cache's outage logger
    serving.curated_results("reading lamp", Filters(), 4)
    for installed in logging.getLogger("vitrine.cache").filters:
        if isinstance(installed, FirstPerInterval):
            monkeypatch.setattr(installed, "_open_at", 0.0)
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": f"unix://{tmp_path}/gone.sock",
                                   "OPTIONS": {"IGNORE_EXCEPTIONS": True}}}

    # when pages miss curated lists meanwhile
    with caplog.at_level(logging.WARNING, logger="vitrine.cache"):
        answers = [serving.curated_results("reading lamp", Filters(), 4),
                   serving.curated_results("gifts for gardeners", Filters(), 4)]

    # then they get no list, nothing fails, and the outage is one line
    assert answers == [None, None]
    assert [r.name for r in caplog.records if r.name == "vitrine.cache"] == ["vitrine.cache"]


def test_products_needing_index_are_the_active_ones_without_an_embedding(catalogue):
    new, retired = ProductFactory(title="Oak Writing Desk"), ProductFactory(title="Old Lamp", active=False)

    assert serving.products_needing_index() == [new.pk]
    assert list(serving.unindexed_products()) == [new]
    assert retired.pk not in serving.products_needing_index()
    indexing.index_products([new.pk])
    assert serving.products_needing_index() == []


def test_product_embeddings_returns_float32_vectors_of_embedded_products_only():
    embedded, bare = ProductFactory(), ProductFactory()
    embedding(embedded, (0, 1.0))

    vectors = serving.product_embeddings([embedded.pk, bare.pk])

    assert list(vectors) == [embedded.pk]
    assert vectors[embedded.pk].dtype == np.float32
    assert vectors[embedded.pk].shape == (384,)
    np.testing.assert_allclose(vectors[embedded.pk], ProductEmbedding.objects.get(pk=embedded.pk).embedding)


def test_embedded_product_ids_filters_products_as_a_subquery():
    embedded, bare = ProductFactory(), ProductFactory()
    embedding(embedded, (0, 1.0))

    assert list(Product.objects.filter(pk__in=serving.embedded_product_ids())) == [embedded]
    assert bare.pk not in set(serving.embedded_product_ids())


def test_nearest_available_products_are_nearest_first_and_leave_out_the_unavailable_and_excluded():
    near, nearer, far, viewed = ProductFactory(), ProductFactory(), ProductFactory(), ProductFactory()
    sold_out, inactive = ProductFactory(stock=0), ProductFactory(active=False)
    embedding(nearer, (0, 1.0), (1, 0.1))
    embedding(near, (0, 1.0), (1, 0.5))
    embedding(far, (2, 1.0))
    embedding(viewed, (0, 1.0))
    embedding(sold_out, (0, 1.0))
    embedding(inactive, (0, 1.0))
    query = serving.product_embeddings([viewed.pk])[viewed.pk]

    found = serving.nearest_available_products(query, limit=2, exclude=[viewed.pk])

    assert [pid for pid, _ in found] == [nearer.pk, near.pk]
    np.testing.assert_allclose(found[0][1], serving.product_embeddings([nearer.pk])[nearer.pk])


def test_embedding_neighbours_are_the_most_similar_available_products_without_itself():
    product, twin, cousin, stranger = ProductFactory(), ProductFactory(), ProductFactory(), ProductFactory()
    sold_out = ProductFactory(stock=0)
    embedding(product, (0, 1.0))
    embedding(twin, (0, 1.0), (1, 0.1))
    embedding(cousin, (0, 1.0), (1, 0.6))
    embedding(stranger, (2, 1.0))
    embedding(sold_out, (0, 1.0))

    neighbours = serving.embedding_neighbours(product.pk, 2)

    assert [pid for pid, _ in neighbours] == [twin.pk, cousin.pk]
    assert 1.0 > neighbours[0][1] > neighbours[1][1] > 0.5


def test_embedding_neighbours_of_a_product_without_embedding_are_empty():
    product = ProductFactory()
    embedding(ProductFactory(), (0, 1.0))

    assert serving.embedding_neighbours(product.pk, 5) == []


def test_embedding_neighbours_of_many_products_are_each_ones_own_in_one_call():
    # given two pairs of look-alikes and a product without an embedding
    mug, cup, lamp, light, bare = (ProductFactory() for _ in range(5))
    embedding(mug, (0, 1.0))
    embedding(cup, (0, 1.0), (1, 0.2))
    embedding(lamp, (2, 1.0))
    embedding(light, (2, 1.0), (3, 0.2))

    # when
    found = serving.embedding_neighbours_of([mug.pk, lamp.pk, bare.pk], 1)

    # then each has its own nearest product, the bare one none
    assert {pid: [n for n, _ in found[pid]] for pid in found} == {mug.pk: [cup.pk], lamp.pk: [light.pk], bare.pk: []}


def test_a_query_nothing_in_the_catalogue_matches_finds_nothing_and_is_logged_as_such(catalogue):
    results = serving.search("xyzzy qwfp plorth")
    assert results.product_ids == [] and results.corrected_query is None
    assert SearchQuery.objects.get(pk=results.query_log_id).result_count == 0


def test_semantic_candidates_count_only_from_the_similarity_floor(catalogue):
    # given a query some products are near (similarity) and others are not
    query = "something to dig the garden with"
    semantic = serving.semantic_search(query)
    near = {pid for pid, similarity in semantic if similarity >= serving.SEMANTIC_SIMILARITY_FLOOR}
    assert near and len(near) < len(semantic)

    # when it is searched
    ranked, _, _ = serving.hybrid_rank(query)

    # then the results are the keyword matches and the near products only
    keyword, _ = serving.keyword_search(query)
    assert set(ranked_ids(ranked)) == near | set(ranked_ids(keyword))


def test_sold_out_products_rank_after_in_stock_ones_in_their_own_order_unless_turned_off(spelling, settings):
    # given a query whose best match is sold out
    settings.VITRINE_SEARCH_SOLD_OUT_LAST = False
    relevance = serving.search("leather wallet", log=False).product_ids
    assert relevance[0] == spelling["wallet"].pk

    # when search ranks sold-out products last (the default; the cached list is dropped)
    settings.VITRINE_SEARCH_SOLD_OUT_LAST = True
    cache.clear()
    shown = serving.search("leather wallet", log=False).product_ids

    # then the wallet comes after every in-stock result, which keep their order
    assert shown == [pid for pid in relevance if pid != spelling["wallet"].pk] + [spelling["wallet"].pk]


def test_popular_queries_are_recent_searches_that_found_something_most_clicked_first(catalogue):
    kettle = catalogue["kettle"]

    def searched(text, times, **fields):
        SearchQuery.objects.bulk_create([SearchQuery(query=text, normalized=text, visitor_id=uuid.uuid4(), **fields)
                                         for _ in range(times)])

    searched("dripper", 3, result_count=2)
    searched("kettle", 2, result_count=1, clicked_product=kettle)
    searched("flux", 5, result_count=0)
    searched("spade", 4, result_count=1, clicked_product=kettle)
    SearchQuery.objects.filter(normalized="spade").update(created_at=timezone.now() - dt.timedelta(days=31))
    searched("for jane smith", 1, result_count=1, clicked_product=kettle)  # one visitor's: never shown to others

    assert serving.popular_queries() == ["kettle", "dripper"]
