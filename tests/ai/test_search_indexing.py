import pytest

from ai import embeddings
from ai.search import indexing, retrieval, serving
from ai.search.models import ProductEmbedding, SearchStatistics, SearchTerm
from tests.factories import CategoryFactory, ProductFactory, ranked_ids

pytestmark = pytest.mark.django_db


def test_index_embeds_once_and_again_only_when_the_text_changes(catalogue):
    dripper = catalogue["dripper"]
    assert indexing.index_products([dripper.pk]) == 0  # unchanged text: no re-embed
    dripper.stock = 3
    dripper.save()
    assert indexing.index_products([dripper.pk]) == 0  # stock is not part of the text

    dripper.title = "Porcelain Pour-Over Coffee Dripper"
    dripper.save()
    assert indexing.index_products([dripper.pk]) == 1
    stored = ProductEmbedding.objects.get(pk=dripper.pk)
    assert stored.model_version == embeddings.model_version()
    assert len(stored.embedding) == 384


def test_a_reindexed_product_is_found_by_its_new_words_and_no_longer_by_its_old(catalogue):
    # given the trowel renamed
    trowel = catalogue["trowel"]
    trowel.title = "Bulb Planter with Oak Handle"
    trowel.save()

    # when it is re-indexed
    indexing.index_products([trowel.pk])

    # then keyword search finds it by the new title only
    assert trowel.pk in ranked_ids(retrieval.keyword_search("planter")[0])
    assert trowel.pk not in ranked_ids(retrieval.keyword_search("trowel")[0])


def test_term_statistics_count_documents_and_build_the_typo_vocabulary(catalogue):
    # given a fifth product indexed after the last refresh
    indexing.index_products([ProductFactory(title="Linen Apron", category=catalogue["kettle"].category).pk])

    # when the statistics are rebuilt
    vocabulary = indexing.refresh_term_statistics().vocabulary

    # then the corpus counts it and typo correction knows its words
    assert vocabulary == SearchTerm.objects.count() and SearchTerm.objects.filter(term="apron").exists()
    assert SearchStatistics.objects.get().documents == 5
    assert retrieval.keyword_search("apronn")[1] == {"apronn": "apron"}


def test_category_paths_name_every_ancestor():
    kitchen = CategoryFactory(name="Kitchen")
    coffee = CategoryFactory(name="Coffee", parent=kitchen)

    assert indexing.category_paths()[coffee.pk] == "Kitchen > Coffee"


def test_indexing_retires_cached_result_lists(catalogue):
    before = serving.version()
    indexing.index_products([ProductFactory(title="Electric Kettle").pk])
    assert serving.version() != before


def test_reindexing_products_whose_text_did_not_change_keeps_the_index_version(catalogue):
    before = serving.version()
    assert indexing.index_products([p.pk for p in catalogue.values()]) == 0
    assert serving.version() == before


def test_a_statistics_refresh_reports_a_change_and_bumps_the_version_only_when_the_postings_changed(catalogue):
    # given statistics as fresh as the postings
    before = serving.version()
    # when they are refreshed again, then after a new product's postings, then once more
    quiet = indexing.refresh_term_statistics()
    indexing.index_products([ProductFactory(title="Linen Apron", category=catalogue["kettle"].category).pk])
    indexed = serving.version()
    grown = indexing.refresh_term_statistics()
    again = indexing.refresh_term_statistics()
    # then only the refresh after the change reports one, and only it moves the version past the indexing's
    assert not quiet.changed and not again.changed and grown.changed
    assert grown.vocabulary > quiet.vocabulary
    assert indexed != before and serving.version() not in {before, indexed}
