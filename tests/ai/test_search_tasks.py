import pytest

from ai.search import serving, tasks
from ai.search.models import ProductEmbedding
from ai.search.serving import Filters
from tests.factories import CategoryFactory, ProductFactory, indexed_catalogue

pytestmark = pytest.mark.django_db


def test_the_beat_task_caches_every_wanted_curated_list_where_its_block_reads_it():
    # given two curated blocks that found no list, one with a price bound (its filters travel as JSON)
    catalogue = indexed_catalogue()
    cheap_garden = Filters(category_id=catalogue["trowel"].category_id, max_price=20.0, in_stock=True)
    assert serving.curated_results("hand trowel", cheap_garden, 4) is None
    assert serving.curated_results("gooseneck kettle", Filters(), 4, keyword_only=True) is None

    # when the beat task runs
    refreshed = tasks.refresh_wanted_curated_results()

    # then both blocks find their lists, and nothing is left to run
    assert refreshed == 2
    assert serving.curated_results("hand trowel", cheap_garden, 4) == [catalogue["trowel"].pk]
    assert serving.curated_results("gooseneck kettle", Filters(), 4, keyword_only=True)[0] == catalogue["kettle"].pk
    assert tasks.refresh_wanted_curated_results() == 0


def test_the_beat_task_skips_a_curated_query_whose_department_was_deleted():
    department = CategoryFactory(name="Lighting")
    filters = Filters(category_id=department.pk)
    serving.curated_results("reading lamp", filters, 4)
    department.delete()

    assert tasks.refresh_wanted_curated_results() == 0
    assert serving.take_wanted_curated_results(10) == []


def test_the_statistics_beat_task_keeps_cached_lists_until_the_catalogue_changes():
    # given an indexed catalogue and a curated list cached for it
    catalogue = indexed_catalogue()
    before = serving.version()
    cached = serving.refresh_curated_results("gooseneck kettle", Filters(), 2)

    # when the beat task runs with nothing changed
    tasks.refresh_search_statistics()

    # then the index version and the list stay
    assert serving.version() == before
    assert serving.curated_results("gooseneck kettle", Filters(), 2) == cached

    # when a product is deleted (its postings with it: only the statistics refresh sees it) and the task runs
    catalogue["dripper"].delete()
    tasks.refresh_search_statistics()

    # then the version moves on, retiring the list
    assert serving.version() != before
    assert serving.curated_results("gooseneck kettle", Filters(), 2) is None


def test_the_indexing_tasks_index_what_they_are_given_and_what_is_missing():
    saved, imported = ProductFactory(title="Brass Reading Lamp"), ProductFactory(title="Oak Writing Desk")

    tasks.index_product(saved.pk)
    assert set(ProductEmbedding.objects.values_list("product_id", flat=True)) == {saved.pk}
    tasks.reembed_missing_products()
    assert set(ProductEmbedding.objects.values_list("product_id", flat=True)) == {saved.pk, imported.pk}
