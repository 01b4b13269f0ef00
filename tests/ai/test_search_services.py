import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ai import embeddings
from ai.search import services
from ai.search.models import ProductEmbedding, SearchQuery, SearchStatistics
from ai.search.services import Filters
from commerce.catalogue.models import PriceList
from commerce.events import services as events
from tests.factories import CategoryFactory, CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue():
    coffee = CategoryFactory(name="Coffee & Tea")
    garden = CategoryFactory(name="Garden Tools")
    products = {
        "dripper": ProductFactory(title="Ceramic Pour-Over Coffee Dripper", category=coffee,
                                  description="Brew a clean, bright cup by hand with a paper filter.",
                                  attributes={"material": "ceramic"}, base_price=Decimal("24.00")),
        "kettle": ProductFactory(title="Gooseneck Kettle", category=coffee,
                                 description="A slow, steady pour for filter coffee.",
                                 attributes={"material": "steel"}, base_price=Decimal("45.00")),
        "spade": ProductFactory(title="Stainless Steel Border Spade", category=garden,
                                description="Digs clean edges in heavy clay soil.",
                                attributes={"material": "steel"}, base_price=Decimal("39.00"), stock=0),
        "trowel": ProductFactory(title="Hand Trowel with Ash Handle", category=garden,
                                 description="For planting bulbs and seedlings.", base_price=Decimal("12.00")),
    }
    services.index_products([p.pk for p in products.values()])
    services.refresh_term_statistics()
    return products


def ids(pairs):
    return [pid for pid, _ in pairs]


def test_index_embeds_once_and_again_only_when_the_text_changes(catalogue):
    dripper = catalogue["dripper"]
    assert services.index_products([dripper.pk]) == 0  # unchanged text: no re-embed
    dripper.stock = 3
    dripper.save()
    assert services.index_products([dripper.pk]) == 0  # stock is not part of the text

    dripper.title = "Porcelain Pour-Over Coffee Dripper"
    dripper.save()
    assert services.index_products([dripper.pk]) == 1
    stored = ProductEmbedding.objects.get(pk=dripper.pk)
    assert stored.model_version == embeddings.model_version()
    assert len(stored.embedding) == 384


def test_keyword_search_matches_any_term_and_ranks_title_matches_first(catalogue):
    results, corrections = services.keyword_search("steel coffee kettle")
    assert ids(results)[0] == catalogue["kettle"].pk  # matches three terms, one in the title
    assert set(ids(results)) >= {catalogue["kettle"].pk, catalogue["spade"].pk, catalogue["dripper"].pk}
    assert corrections == {}


def test_keyword_search_corrects_typos_from_the_indexed_vocabulary(catalogue):
    results, corrections = services.keyword_search("gosneck kettel")
    assert ids(results)[:1] == [catalogue["kettle"].pk]
    assert corrections  # the misspelt terms were mapped to indexed ones


def test_semantic_search_finds_paraphrases_sharing_no_word(catalogue):
    results = services.semantic_search("something to make filter coffee by hand")
    assert ids(results)[0] in {catalogue["dripper"].pk, catalogue["kettle"].pk}
    assert ids(results).index(catalogue["trowel"].pk) > 1


def test_filters_apply_to_both_retrievers(catalogue):
    garden = catalogue["spade"].category
    in_garden = Filters(category_id=garden.pk)
    garden_products = {catalogue["spade"].pk, catalogue["trowel"].pk}
    assert set(ids(services.semantic_search("steel", filters=in_garden))) == garden_products
    assert ids(services.keyword_search("steel", filters=in_garden)[0]) == [catalogue["spade"].pk]
    assert catalogue["spade"].pk not in ids(services.keyword_search("steel", filters=Filters(in_stock=True))[0])
    cheap = ids(services.semantic_search("garden", filters=Filters(max_price=20)))
    assert cheap == [catalogue["trowel"].pk]


def test_price_bounds_apply_to_the_price_list_the_shopper_pays(catalogue):
    kettle = catalogue["kettle"]  # base 45.00, now on sale at 25.00
    kettle.price = Decimal("25.00")
    kettle.save()

    current = ids(services.keyword_search("kettle", filters=Filters(max_price=30))[0])
    base = ids(services.keyword_search("kettle", filters=Filters(max_price=30, price_list=PriceList.BASE))[0])

    assert kettle.pk in current and kettle.pk not in base
    assert Filters(price_list=PriceList.BASE) == Filters()  # without bounds the list changes nothing


def test_inactive_products_are_never_returned(catalogue):
    catalogue["kettle"].active = False
    catalogue["kettle"].save()
    assert catalogue["kettle"].pk not in ids(services.keyword_search("kettle")[0])
    assert catalogue["kettle"].pk not in ids(services.semantic_search("kettle"))


def ivfflat_in_use() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [services.IVFFLAT_INDEX])
        return cursor.fetchone() is not None


@pytest.mark.django_db(transaction=True)  # the IVFFlat index is built CONCURRENTLY, outside a transaction
def test_at_scale_the_ivfflat_index_serves_the_same_neighbours(catalogue, monkeypatch):
    query = "something to make filter coffee by hand"
    from_hnsw = services.semantic_search(query)
    garden = Filters(category_id=catalogue["spade"].category_id)
    monkeypatch.setattr(services, "IVFFLAT_MIN_PRODUCTS", 4)  # the catalogue counts as large
    monkeypatch.setattr(services, "IVFFLAT_ROWS_PER_LIST", 2)
    assert services.refresh_vector_index() == 2 and ivfflat_in_use()
    assert services.ivfflat_probes() == 2  # ≥ IVFFLAT_SCAN_ROWS vectors: every list of this small index
    from_ivfflat = services.semantic_search(query)
    assert ids(from_ivfflat) == ids(from_hnsw)
    assert [score for _, score in from_ivfflat] == pytest.approx([score for _, score in from_hnsw], abs=1e-6)
    assert set(ids(services.semantic_search("steel", filters=garden))) == {catalogue["spade"].pk,
                                                                          catalogue["trowel"].pk}

    built = SearchStatistics.objects.get().vector_index_built_at
    assert services.refresh_vector_index() == 2
    assert SearchStatistics.objects.get().vector_index_built_at == built  # no drift, no rebuild
    services.index_products([catalogue["kettle"].pk], force=True)  # 1 of 4 re-embedded: past IVFFLAT_DRIFT
    assert services.refresh_vector_index() == 2
    assert SearchStatistics.objects.get().vector_index_built_at > built

    monkeypatch.setattr(services, "IVFFLAT_MIN_PRODUCTS", 5)  # small again: HNSW serves
    assert services.refresh_vector_index() == 0 and not ivfflat_in_use()
    assert services.ivfflat_probes() == 0
    assert set(ids(services.semantic_search(query))) == set(ids(from_hnsw))  # the kettle's vector moved a little


def semantic_plan(query: str, filters: Filters) -> tuple[dict[str, str], str]:
    """The index settings and the statement ``semantic_search`` ran."""
    with CaptureQueriesContext(connection) as queries:
        services.semantic_search(query, filters=filters)
    settings = dict(tuple(q["sql"].split("'")[1::2][:2]) for q in queries if "set_config" in q["sql"])
    return settings, next(q["sql"] for q in queries if "search_productembedding" in q["sql"])


def test_a_narrow_filter_is_searched_exactly(catalogue, monkeypatch):
    garden = Filters(category_id=catalogue["spade"].category_id)

    assert services.filter_matches(garden) == (2, 4)
    _, exact = semantic_plan("steel", garden)
    monkeypatch.setattr(services, "EXACT_SEARCH_MAX_MATCHES", 1)
    settings, indexed = semantic_plan("steel", garden)

    assert "+ 0" in exact and "+ 0" not in indexed
    assert settings == {"hnsw.ef_search": "100", "hnsw.iterative_scan": "relaxed_order"}


@pytest.mark.django_db(transaction=True)  # the IVFFlat index is built CONCURRENTLY, outside a transaction
def test_ivfflat_probes_more_lists_the_fewer_products_a_filter_keeps(catalogue, monkeypatch):
    monkeypatch.setattr(services, "IVFFLAT_MIN_PRODUCTS", 4)
    monkeypatch.setattr(services, "IVFFLAT_ROWS_PER_LIST", 1)  # 4 lists
    monkeypatch.setattr(services, "IVFFLAT_SCAN_ROWS", 1)  # 1 probe unfiltered
    monkeypatch.setattr(services, "EXACT_SEARCH_MAX_MATCHES", 0)
    assert services.refresh_vector_index() == 4
    try:
        unfiltered, _ = semantic_plan("steel", Filters())
        half, _ = semantic_plan("steel", Filters(category_id=catalogue["spade"].category_id))  # 2 of 4
        quarter, _ = semantic_plan("trowel", Filters(max_price=12.0))  # 1 of 4
    finally:
        monkeypatch.setattr(services, "IVFFLAT_MIN_PRODUCTS", 5)
        services.refresh_vector_index()  # dropped: the index outlives the test's data

    assert [plan["ivfflat.probes"] for plan in (unfiltered, half, quarter)] == ["1", "2", "4"]
    assert "ivfflat.iterative_scan" not in unfiltered and half["ivfflat.iterative_scan"] == "relaxed_order"


def test_reciprocal_rank_fusion_on_hand_made_rankings():
    fused = services.reciprocal_rank_fusion([[1, 2, 3], [3, 1, 4]], k=60)
    scores = dict(fused)
    assert scores[1] == pytest.approx(1 / 61 + 1 / 62)
    assert scores[3] == pytest.approx(1 / 63 + 1 / 61)
    assert scores[4] == pytest.approx(1 / 63)
    assert [pid for pid, _ in fused] == [1, 3, 2, 4]
    weighted = dict(services.reciprocal_rank_fusion([[1], [2]], k=60, weights=[1.0, 0.5]))
    assert weighted[1] == pytest.approx(2 * weighted[2])


def test_personalisation_boosts_the_shoppers_preferred_categories(catalogue):
    ranked = [(catalogue["spade"].pk, 1.0), (catalogue["dripper"].pk, 0.9)]
    coffee = catalogue["dripper"].category_id
    boosted = services.personalise(ranked, [(coffee, 3.0), (catalogue["spade"].category_id, 1.0)])
    assert ids(boosted) == [catalogue["dripper"].pk, catalogue["spade"].pk]
    assert dict(boosted)[catalogue["dripper"].pk] == pytest.approx(0.9 * (1 + services.PREFERENCE_BOOST * 0.75))


def test_search_for_a_known_customer_uses_their_history(catalogue):
    customer = CustomerFactory()
    for _ in range(3):
        events.store_events([{"id": str(uuid.uuid4()), "created_at": timezone.now().isoformat(),
                              "event_type": "purchase", "customer_id": customer.pk,
                              "product_id": catalogue["trowel"].pk}])
    anonymous = services.search("steel", log=False)
    personal = services.search("steel", customer_id=customer.pk, log=False)
    assert anonymous.product_ids.index(catalogue["trowel"].pk) >= personal.product_ids.index(catalogue["trowel"].pk)


def test_anonymous_results_are_cached_until_the_index_changes(catalogue, django_assert_num_queries):
    first = services.search("kettle", log=False)
    with django_assert_num_queries(0):
        again = services.search("kettle", log=False)
    assert again.product_ids == first.product_ids

    new = ProductFactory(title="Electric Kettle", category=catalogue["kettle"].category)
    services.index_products([new.pk])  # bumps the index version
    assert new.pk in services.search("kettle", log=False).product_ids


def test_a_failing_encoder_degrades_to_keyword_results(catalogue, monkeypatch, caplog):
    def broken(text):
        raise RuntimeError("model file missing")

    monkeypatch.setattr(embeddings, "encode_query", broken)
    results = services.search("gooseneck kettle", log=False)
    assert results.method == "keyword"
    assert results.product_ids[0] == catalogue["kettle"].pk
    assert "semantic search failed" in caplog.text


def test_searches_are_logged_with_clicks_and_conversions(catalogue):
    visitor = uuid.uuid4()
    results = services.search("kettle", visitor_id=visitor)
    entry = SearchQuery.objects.get(pk=results.query_log_id)
    assert (entry.query, entry.result_count) == ("kettle", len(results.product_ids))

    assert not services.record_click(entry.pk, catalogue["kettle"].pk, visitor_id=uuid.uuid4())  # not theirs
    assert services.record_click(entry.pk, catalogue["kettle"].pk, visitor_id=visitor)
    assert services.mark_conversions(visitor, None, [catalogue["kettle"].pk]) == 1
    entry.refresh_from_db()
    assert entry.clicked_product == catalogue["kettle"] and entry.converted
