import pytest
from django.core.cache import cache

from ai.search import caching, rules, serving, synonyms
from ai.search.models import Synonym
from tests.factories import QueryRuleFactory, SynonymFactory

pytestmark = pytest.mark.django_db


def test_a_table_is_built_once_and_served_from_the_cache_until_forgotten():
    # given
    builds = []
    table = caching.CachedTable("test-table", Synonym, lambda: builds.append(1) or ["row"])

    # when
    first, second = table(), table()
    table.forget()
    third = table()

    # then
    assert first == second == third == ["row"]
    assert len(builds) == 2


def test_bumping_the_index_version_changes_what_serving_names_it():
    # given
    before = serving.version()

    # when
    caching.bump_index_version()
    caching.bump_index_version()

    # then
    assert serving.version() == str(int(before) + 2)


@pytest.mark.parametrize("table, factory", [(synonyms.table, SynonymFactory), (rules.table, QueryRuleFactory)])
def test_a_committed_save_drops_its_table_and_retires_cached_results(
        table, factory, django_capture_on_commit_callbacks):
    # given
    assert table() == []
    version = serving.version()

    # when
    with django_capture_on_commit_callbacks(execute=True):
        factory()

    # then
    assert cache.get(caching.cache_key(table.name)) is None
    assert len(table()) >= 1
    assert serving.version() != version


def test_a_save_loaded_from_a_fixture_changes_no_table(django_capture_on_commit_callbacks):
    # given
    synonyms.table()

    # when
    with django_capture_on_commit_callbacks() as callbacks:
        synonyms.table.changed(sender=Synonym, raw=True)

    # then
    assert callbacks == []
    assert cache.get(caching.cache_key(synonyms.table.name)) == []
