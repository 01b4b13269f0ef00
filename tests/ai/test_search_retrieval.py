from decimal import Decimal

import pytest

from ai.search import retrieval, serving, synonyms
from ai.search.models import SearchStatistics
from ai.search.retrieval import Filters
from commerce.catalogue.models import PriceList
from tests.factories import CategoryFactory, SynonymFactory, ranked_ids

pytestmark = pytest.mark.django_db


def confidence(query):
    keyword, corrections = retrieval.keyword_search(query)
    return retrieval.keyword_confidence(query, keyword, corrections)


def test_keyword_search_matches_any_term_and_ranks_title_matches_first(catalogue):
    results, corrections = retrieval.keyword_search("steel coffee kettle")
    assert ranked_ids(results)[0] == catalogue["kettle"].pk  # matches three terms, one in the title
    assert set(ranked_ids(results)) >= {catalogue["kettle"].pk, catalogue["spade"].pk, catalogue["dripper"].pk}
    assert corrections == {}


def test_a_querys_stems_are_the_indexs_and_are_asked_of_the_server_once(django_assert_num_queries):
    # given a query with stopwords and inflected words, not stemmed yet in this process
    query = "the kettles for boiling water " + "x" * 12  # a text no other test stems
    # when it is stemmed twice
    with django_assert_num_queries(1):
        first = retrieval.query_stems(query)
        again = retrieval.query_stems(query)
    # then the stems are the english configuration's, stopwords dropped, and the second came from memory
    assert set(first) == {"kettl", "boil", "water", "x" * 12} and again == first


def test_keyword_search_corrects_typos_from_the_indexed_vocabulary(catalogue):
    results, corrections = retrieval.keyword_search("gosneck kettel")
    assert ranked_ids(results)[:1] == [catalogue["kettle"].pk]
    assert corrections  # the misspelt terms were mapped to indexed ones


def test_keyword_confidence_is_how_much_of_the_query_the_best_match_covers(catalogue):
    assert confidence("gooseneck kettle") >= serving.KEYWORD_CONFIDENCE
    assert confidence("gosneck kettel") >= serving.KEYWORD_CONFIDENCE  # typos count once corrected
    assert 0 < confidence("kettle for a zafu cushion") < serving.KEYWORD_CONFIDENCE  # 2 of 3 words in no product
    assert confidence("zafu") == 0.0  # nothing matched


def test_a_query_its_synonym_matches_is_as_confident_as_the_word_it_brings_in(catalogue):
    # given: "coffee" is in two of four products, so a word no product has would weigh more than it
    SynonymFactory(kind="one_way", terms="java", targets="coffee")

    # when
    through_the_synonym, typed = confidence("java"), confidence("coffee")

    # then
    assert through_the_synonym == pytest.approx(typed)
    assert through_the_synonym >= serving.KEYWORD_CONFIDENCE


def test_a_synonym_the_query_does_not_match_changes_no_confidence(catalogue):
    # given
    before = confidence("kettle for a zafu cushion")
    SynonymFactory(kind="one_way", terms="java", targets="coffee")
    synonyms.table.forget()  # the save's receiver drops it on commit, which a test never reaches

    # then
    assert confidence("kettle for a zafu cushion") == before


def test_semantic_search_finds_paraphrases_sharing_no_word(catalogue):
    results = retrieval.semantic_search("something to make filter coffee by hand")
    assert ranked_ids(results)[0] in {catalogue["dripper"].pk, catalogue["kettle"].pk}
    assert ranked_ids(results).index(catalogue["trowel"].pk) > 1


def test_filters_apply_to_both_retrievers(catalogue):
    garden = catalogue["spade"].category
    in_garden = Filters(category_id=garden.pk)
    garden_products = {catalogue["spade"].pk, catalogue["trowel"].pk}
    assert set(ranked_ids(retrieval.semantic_search("steel", filters=in_garden))) == garden_products
    assert ranked_ids(retrieval.keyword_search("steel", filters=in_garden)[0]) == [catalogue["spade"].pk]
    assert catalogue["spade"].pk not in ranked_ids(retrieval.keyword_search("steel", filters=Filters(in_stock=True))[0])
    cheap = ranked_ids(retrieval.semantic_search("garden", filters=Filters(max_price=20)))
    assert cheap == [catalogue["trowel"].pk]


def test_price_bounds_apply_to_the_price_list_the_shopper_pays(catalogue):
    kettle = catalogue["kettle"]  # base 45.00, now on sale at 25.00
    kettle.price = Decimal("25.00")
    kettle.save()

    current = ranked_ids(retrieval.keyword_search("kettle", filters=Filters(max_price=30))[0])
    base = ranked_ids(retrieval.keyword_search("kettle", filters=Filters(max_price=30, price_list=PriceList.BASE))[0])

    assert kettle.pk in current and kettle.pk not in base
    assert Filters(price_list=PriceList.BASE) == Filters()  # without bounds the list changes nothing


def test_inactive_products_are_never_returned(catalogue):
    catalogue["kettle"].active = False
    catalogue["kettle"].save()
    assert catalogue["kettle"].pk not in ranked_ids(retrieval.keyword_search("kettle")[0])
    assert catalogue["kettle"].pk not in ranked_ids(retrieval.semantic_search("kettle"))


def test_a_narrow_filter_is_searched_exactly_and_finds_what_the_index_finds(catalogue, monkeypatch):
    garden = Filters(category_id=catalogue["spade"].category_id)
    assert retrieval.filter_matches(garden) == (2, 4)

    assert retrieval.scan_plan(garden, 50) == ("exact", {})
    exact = retrieval.semantic_search("steel", filters=garden)
    monkeypatch.setattr(retrieval, "EXACT_SEARCH_MAX_MATCHES", 1)
    assert retrieval.scan_plan(garden, 50) == ("hnsw", {"hnsw.ef_search": 100,
                                                        "hnsw.iterative_scan": "relaxed_order"})
    indexed = retrieval.semantic_search("steel", filters=garden)

    assert ranked_ids(exact) == ranked_ids(indexed)
    assert set(ranked_ids(exact)) == {catalogue["spade"].pk, catalogue["trowel"].pk}
    assert [score for _, score in exact] == pytest.approx([score for _, score in indexed], abs=1e-6)


def test_ivfflat_probes_more_lists_the_fewer_products_a_filter_keeps(catalogue, monkeypatch):
    # given an IVFFlat index of 4 lists over the 4 products, one probe scanning enough unfiltered
    SearchStatistics.objects.update_or_create(pk=1, defaults={"vector_index_lists": 4, "vector_index_rows": 4})
    monkeypatch.setattr(retrieval, "IVFFLAT_SCAN_ROWS", 1)
    monkeypatch.setattr(retrieval, "EXACT_SEARCH_MAX_MATCHES", 0)

    # when semantic search plans unfiltered, half-catalogue and quarter-catalogue scans
    unfiltered = retrieval.scan_plan(Filters(), 50)
    half = retrieval.scan_plan(Filters(category_id=catalogue["spade"].category_id), 50)  # 2 of 4
    quarter = retrieval.scan_plan(Filters(max_price=12.0), 50)  # 1 of 4

    # then the narrower the filter, the more lists it probes, iteratively
    assert unfiltered == ("ivfflat", {"ivfflat.probes": 1})
    assert half == ("ivfflat", {"ivfflat.probes": 2, "ivfflat.iterative_scan": "relaxed_order"})
    assert quarter == ("ivfflat", {"ivfflat.probes": 4, "ivfflat.iterative_scan": "relaxed_order"})


def test_typo_correction_fixes_misspellings_but_not_real_words_the_catalogue_lacks(spelling):
    # given a catalogue selling leather, a book, a cover, a roaster and a north coast print
    typed = ["lether", "boots", "lovers", "toaster", "plorth"]

    # when shoppers type a misspelling and real or made-up words one or two edits from those
    corrections = {query: retrieval.query_terms(query)[1] for query in typed}

    # then only the misspelling is corrected
    assert corrections == {"lether": {"lether": "leather"}, "boots": {}, "lovers": {}, "toaster": {}, "plorth": {}}


def test_terms_the_catalogue_has_and_exact_queries_are_never_corrected(spelling):
    assert retrieval.query_terms("north wallet") == (["north", "wallet"], {})
    assert retrieval.query_terms("lether", correct=False) == (["lether"], {})


def test_the_corrected_query_reads_in_words_not_stems(catalogue):
    _, corrections = retrieval.query_terms("gosneck kettel")
    assert corrections == {"gosneck": "gooseneck", "kettel": "kettl"}
    assert retrieval.corrected_query("gosneck kettel", corrections) == "gooseneck kettle"


def test_a_department_with_its_own_index_is_probed_like_an_unfiltered_index_of_its_size(catalogue, monkeypatch):
    # given the catalogue's IVFFlat index and one of the garden department's own (2 lists over 2 rows),
    # with one list scanning enough, and a sub-category of the garden department
    garden = catalogue["spade"].category
    borders = CategoryFactory(name="Borders", parent=garden)
    SearchStatistics.objects.update_or_create(pk=1, defaults={
        "vector_index_lists": 4, "vector_index_rows": 4,
        "department_indexes": {str(garden.pk): {"lists": 2, "rows": 2, "built_at": "2026-12-07T00:00:00+00:00"}}})
    monkeypatch.setattr(retrieval, "IVFFLAT_SCAN_ROWS", 1)
    monkeypatch.setattr(retrieval, "EXACT_SEARCH_MAX_MATCHES", -1)  # even the empty sub-category reads an index

    # when semantic search plans the department, the department under a price bound, a category inside
    # it, and the coffee department (no index of its own)
    department = retrieval.scan_plan(Filters(category_id=garden.pk), 50)
    cheap = retrieval.scan_plan(Filters(category_id=garden.pk, max_price=20), 50)  # 1 of its 2
    inside = retrieval.scan_plan(Filters(category_id=borders.pk), 50)
    coffee = retrieval.scan_plan(Filters(category_id=catalogue["kettle"].category_id), 50)

    # then the department's index serves its filters, probed for the share of its own products they keep
    assert department == ("department", {"ivfflat.probes": 1})
    assert cheap == ("department", {"ivfflat.probes": 2, "ivfflat.iterative_scan": "relaxed_order"})
    assert inside == ("department", {"ivfflat.probes": 2, "ivfflat.iterative_scan": "relaxed_order"})
    assert coffee == ("ivfflat", {"ivfflat.probes": 2, "ivfflat.iterative_scan": "relaxed_order"})


def test_filters_on_top_of_a_department_still_apply_when_its_index_serves(catalogue, monkeypatch):
    # given the garden department recorded as having its own index (the planner reads the table here)
    garden = catalogue["spade"].category
    SearchStatistics.objects.update_or_create(pk=1, defaults={
        "vector_index_lists": 4, "vector_index_rows": 4,
        "department_indexes": {str(garden.pk): {"lists": 2, "rows": 2, "built_at": "2026-12-07T00:00:00+00:00"}}})
    monkeypatch.setattr(retrieval, "EXACT_SEARCH_MAX_MATCHES", 0)

    # when the department is searched alone, under a price bound, and with the spade inactive
    alone = set(ranked_ids(retrieval.semantic_search("steel", filters=Filters(category_id=garden.pk))))
    cheap = ranked_ids(retrieval.semantic_search("steel", filters=Filters(category_id=garden.pk, max_price=20)))
    catalogue["spade"].active = False
    catalogue["spade"].save()
    active = ranked_ids(retrieval.semantic_search("steel", filters=Filters(category_id=garden.pk)))

    # then each keeps to what the filters pass
    assert alone == {catalogue["spade"].pk, catalogue["trowel"].pk}
    assert cheap == [catalogue["trowel"].pk]
    assert active == [catalogue["trowel"].pk]


def test_a_category_moved_to_another_department_is_planned_under_its_new_one(catalogue, monkeypatch,
                                                                              django_capture_on_commit_callbacks):
    # given a sub-category of the coffee department, and only the garden department with its own index
    coffee, garden = catalogue["kettle"].category, catalogue["spade"].category
    grinders = CategoryFactory(name="Grinders", parent=coffee)
    SearchStatistics.objects.update_or_create(pk=1, defaults={
        "vector_index_lists": 4, "vector_index_rows": 4,
        "department_indexes": {str(garden.pk): {"lists": 2, "rows": 2, "built_at": "2026-12-07T00:00:00+00:00"}}})
    assert retrieval.indexed_department(Filters(category_id=grinders.pk)) is None  # cached: coffee

    # when it moves under the garden department (the cached departments retire after the commit)
    with django_capture_on_commit_callbacks() as callbacks:
        grinders.parent = garden
        grinders.save()
    for callback in callbacks:
        if getattr(callback, "__self__", None) is retrieval.category_departments:  # not the re-embed task
            callback()

    # then its searches read the garden department's index
    assert retrieval.indexed_department(Filters(category_id=grinders.pk)) == garden.pk
