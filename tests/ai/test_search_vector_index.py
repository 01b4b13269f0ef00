import pytest
from django.db import connection

from ai.search import indexing, retrieval, serving, vector_index
from ai.search.models import SearchStatistics
from ai.search.retrieval import Filters
from tests.factories import ranked_ids

pytestmark = pytest.mark.django_db


def ivfflat_in_use() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [vector_index.IVFFLAT_INDEX])
        return cursor.fetchone() is not None


def test_a_small_catalogue_gets_no_ivfflat_index(catalogue):
    assert vector_index.refresh_vector_index() == 0
    assert not ivfflat_in_use() and retrieval.ivfflat_probes() == 0


@pytest.mark.django_db(transaction=True)  # the IVFFlat index is built CONCURRENTLY, outside a transaction
def test_at_scale_the_ivfflat_index_serves_the_same_neighbours(catalogue, monkeypatch):
    query = "something to make filter coffee by hand"
    from_hnsw = retrieval.semantic_search(query)
    garden = Filters(category_id=catalogue["spade"].category_id)
    monkeypatch.setattr(vector_index, "IVFFLAT_MIN_PRODUCTS", 4)  # the catalogue counts as large
    monkeypatch.setattr(vector_index, "IVFFLAT_ROWS_PER_LIST", 2)
    before = serving.version()
    assert vector_index.refresh_vector_index() == 2 and ivfflat_in_use()
    assert serving.version() != before  # results cached against HNSW retire
    assert retrieval.ivfflat_probes() == 2  # ≥ IVFFLAT_SCAN_ROWS vectors: every list of this small index
    from_ivfflat = retrieval.semantic_search(query)
    assert ranked_ids(from_ivfflat) == ranked_ids(from_hnsw)
    assert [score for _, score in from_ivfflat] == pytest.approx([score for _, score in from_hnsw], abs=1e-6)
    monkeypatch.setattr(retrieval, "EXACT_SEARCH_MAX_MATCHES", 0)  # the filtered query reads the index too
    assert set(ranked_ids(retrieval.semantic_search("steel", filters=garden))) == {catalogue["spade"].pk,
                                                                           catalogue["trowel"].pk}

    built, before = SearchStatistics.objects.get().vector_index_built_at, serving.version()
    assert vector_index.refresh_vector_index() == 2
    assert SearchStatistics.objects.get().vector_index_built_at == built  # no drift, no rebuild
    assert serving.version() == before
    indexing.index_products([catalogue["kettle"].pk], force=True)  # 1 of 4 re-embedded: past IVFFLAT_DRIFT
    assert vector_index.refresh_vector_index() == 2
    assert SearchStatistics.objects.get().vector_index_built_at > built

    monkeypatch.setattr(vector_index, "IVFFLAT_MIN_PRODUCTS", 5)  # small again: HNSW serves
    assert vector_index.refresh_vector_index() == 0 and not ivfflat_in_use()
    assert retrieval.ivfflat_probes() == 0
    # the kettle's vector moved a little
    assert set(ranked_ids(retrieval.semantic_search(query))) == set(ranked_ids(from_hnsw))
