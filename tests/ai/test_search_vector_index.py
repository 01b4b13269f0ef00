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


def department_indexes() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE %s",
                       [vector_index.DEPARTMENT_INDEX.replace("_", r"\_") + "%"])
        return {name for (name,) in cursor.fetchall()}


def department_index(category) -> str:
    return f"{vector_index.DEPARTMENT_INDEX}{category.pk}"


@pytest.mark.django_db(transaction=True)  # IVFFlat indexes are built CONCURRENTLY, outside a transaction
def test_each_large_department_gets_its_own_index_which_serves_its_exact_neighbours(catalogue, monkeypatch):
    # given the exact nearest products of each department, and a catalogue counted as large, where a
    # department of 2 embeddings counts as large too
    coffee, garden = catalogue["kettle"].category, catalogue["spade"].category
    query = "steel for the hand"
    exact = {department.pk: retrieval.semantic_search(query, filters=Filters(category_id=department.pk))
             for department in (coffee, garden)}
    assert all(retrieval.scan_plan(Filters(category_id=d), 50)[0] == "exact" for d in exact)
    monkeypatch.setattr(vector_index, "IVFFLAT_MIN_PRODUCTS", 4)
    monkeypatch.setattr(vector_index, "IVFFLAT_ROWS_PER_LIST", 1)
    monkeypatch.setattr(vector_index, "DEPARTMENT_INDEX_MIN_PRODUCTS", 2)

    # when the vector index is refreshed
    before = serving.version()
    assert vector_index.refresh_vector_index() == 4

    # then each department has its own index, recorded for the read side, and cached lists retire
    assert ivfflat_in_use()
    assert department_indexes() == {department_index(coffee), department_index(garden)}
    recorded = SearchStatistics.objects.get().department_indexes
    assert recorded.keys() == {str(coffee.pk), str(garden.pk)}
    assert all(isinstance(state["build_s"], float) and state["rows"] == 2 for state in recorded.values())
    assert serving.version() != before
    # and a department search read through its index finds what the exact scan found
    monkeypatch.setattr(retrieval, "EXACT_SEARCH_MAX_MATCHES", 0)
    for department, expected in exact.items():
        assert retrieval.scan_plan(Filters(category_id=department), 50) == ("department", {"ivfflat.probes": 2})
        served = retrieval.semantic_search(query, filters=Filters(category_id=department))
        assert ranked_ids(served) == ranked_ids(expected)
        assert [score for _, score in served] == pytest.approx([score for _, score in expected], abs=1e-6)


@pytest.mark.django_db(transaction=True)
def test_department_indexes_follow_departments_that_grow_shrink_or_go(catalogue, monkeypatch):
    # given department indexes for the coffee and garden departments (2 embeddings each)
    coffee, garden = catalogue["kettle"].category, catalogue["spade"].category
    monkeypatch.setattr(vector_index, "IVFFLAT_MIN_PRODUCTS", 4)
    monkeypatch.setattr(vector_index, "IVFFLAT_ROWS_PER_LIST", 1)
    monkeypatch.setattr(vector_index, "DEPARTMENT_INDEX_MIN_PRODUCTS", 2)
    vector_index.refresh_vector_index()
    built = SearchStatistics.objects.get().department_indexes
    assert vector_index.refresh_vector_index() == 4
    assert SearchStatistics.objects.get().department_indexes == built  # nothing changed: nothing rebuilt

    # when the kettle moves to the garden department, and a department needs 3 embeddings
    kettle = catalogue["kettle"]
    kettle.category = garden
    kettle.save()
    indexing.index_products([kettle.pk])
    monkeypatch.setattr(vector_index, "DEPARTMENT_INDEX_MIN_PRODUCTS", 3)
    before = serving.version()
    vector_index.refresh_vector_index()

    # then the coffee index is dropped, the garden one rebuilt for its 3 embeddings, and lists retire
    assert department_indexes() == {department_index(garden)}
    recorded = SearchStatistics.objects.get().department_indexes
    assert recorded.keys() == {str(garden.pk)}
    assert (recorded[str(garden.pk)]["lists"], recorded[str(garden.pk)]["rows"]) == (3, 3)
    assert serving.version() != before
    monkeypatch.setattr(retrieval, "EXACT_SEARCH_MAX_MATCHES", 0)
    assert retrieval.scan_plan(Filters(category_id=coffee.pk), 50)[0] == "ivfflat"  # the catalogue's index
    assert set(ranked_ids(retrieval.semantic_search("steel", filters=Filters(category_id=garden.pk)))) == {
        kettle.pk, catalogue["spade"].pk, catalogue["trowel"].pk}

    # when the catalogue counts as small again
    monkeypatch.setattr(vector_index, "IVFFLAT_MIN_PRODUCTS", 5)
    vector_index.refresh_vector_index()

    # then no department keeps its index either
    assert department_indexes() == set() and not ivfflat_in_use()
    assert SearchStatistics.objects.get().department_indexes == {}
    assert retrieval.scan_plan(Filters(category_id=garden.pk), 50)[0] == "hnsw"
