import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.db import connection

from ai import embeddings
from ai.search import indexing, retrieval, serving, tasks
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


def embedded_department(product) -> int | None:
    return ProductEmbedding.objects.get(pk=product.pk).department_id


def test_each_embedding_carries_its_products_department(catalogue):
    # given a department with a sub-category, and a product in it
    kitchen = CategoryFactory(name="Kitchen")
    knives = CategoryFactory(name="Knives", parent=kitchen)
    knife = ProductFactory(title="Paring Knife", category=knives)

    # when it is indexed
    indexing.index_products([knife.pk])

    # then its embedding names the top-level department, as the catalogue's embeddings do theirs
    assert embedded_department(knife) == kitchen.pk
    assert embedded_department(catalogue["spade"]) == catalogue["spade"].category_id


def test_a_product_moved_to_another_department_gets_the_new_department(catalogue):
    # given the kettle in the coffee department
    kettle, garden = catalogue["kettle"], catalogue["spade"].category

    # when it moves to the garden department and is re-indexed (as its save queues)
    kettle.category = garden
    kettle.save()
    written = indexing.index_products([kettle.pk])

    # then its embedding names the garden department
    assert written == 1
    assert embedded_department(kettle) == garden.pk


def test_a_category_moved_under_another_department_moves_its_products_embeddings(catalogue):
    # given a sub-category of the coffee department with a product in it
    coffee, garden = catalogue["kettle"].category, catalogue["spade"].category
    grinders = CategoryFactory(name="Grinders", parent=coffee)
    grinder = ProductFactory(title="Hand Grinder", category=grinders)
    indexing.index_products([grinder.pk])
    assert embedded_department(grinder) == coffee.pk

    # when the category moves under the garden department and the task its save queues runs
    grinders.parent = garden
    grinders.save()
    tasks.reembed_category(grinders.pk)

    # then the product's embedding names the garden department
    assert embedded_department(grinder) == garden.pk


def test_a_stale_department_is_corrected_without_re_embedding(catalogue):
    # given the trowel's embedding with no department (written before departments were recorded)
    trowel = catalogue["trowel"]
    ProductEmbedding.objects.filter(pk=trowel.pk).update(department_id=None)
    vector = ProductEmbedding.objects.get(pk=trowel.pk).embedding

    # when it is re-indexed, its text unchanged
    written = indexing.index_products([trowel.pk])

    # then its department is written and its vector kept
    assert written == 1
    stored = ProductEmbedding.objects.get(pk=trowel.pk)
    assert stored.department_id == trowel.category_id
    assert list(stored.embedding) == list(vector)
    assert indexing.index_products([trowel.pk]) == 0  # nothing left to correct


def test_the_migration_backfills_every_embeddings_department(catalogue):
    # given embeddings written before the department column existed
    migration = importlib.import_module("ai.search.migrations.0007_embedding_department")
    ProductEmbedding.objects.update(department_id=None)

    # when the migration's backfill runs
    migration.backfill_departments(django_apps, SimpleNamespace(connection=connection))

    # then each names its product's department
    assert {p.pk: embedded_department(p) for p in catalogue.values()} == {
        p.pk: p.category_id for p in catalogue.values()}
