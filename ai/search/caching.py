"""Search's cache keys and the index version (read side, below every other search module): what retrieval,
serving, indexing, synonyms and query rules cache is keyed here, and retired together by one version."""

from collections.abc import Callable

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Model

from core import counters

# Cache keys (under ``cache_key``) that indexing bumps or clears when what they summarise changes.
INDEX_VERSION_KEY = "index-version"
CORPUS_STATS_KEY = "corpus-stats"
VECTOR_INDEX_SHAPE_KEY = "vector-index-shape"
DEPARTMENT_INDEXES_KEY = "department-indexes"
TABLE_TTL = 3600  # changes drop a table at once; the TTL only bounds edits made outside Django


def cache_key(name: str) -> str:
    """Cache keys of index-derived data carry the database name: a scratch evaluation database and
    the shop share Redis, never each other's statistics, tables or results."""
    return f"search:{connection.settings_dict['NAME']}:{name}"


def bump_index_version() -> None:
    """Cached result lists and curated lists carry the index version (``serving.version``): bumping it
    retires them all at once (a re-index, a new vector index, a synonym or query rule saved)."""
    counters.bump(cache_key(INDEX_VERSION_KEY))


class CachedTable:
    """What merchandisers' rows of ``model`` compile to (``build``), cached in Redis, dropped after every
    commit that saves or deletes one (``changed``, connected by ``receivers``), so a change applies to
    the next search."""

    def __init__(self, name: str, model: type[Model], build: Callable[[], list]):
        self.name, self.model, self.build = name, model, build

    def __call__(self) -> list:
        rows = cache.get(cache_key(self.name))
        if rows is None:
            rows = self.build()
            cache.set(cache_key(self.name), rows, TABLE_TTL)
        return rows

    def forget(self) -> None:
        cache.delete(cache_key(self.name))

    def retire(self) -> None:
        """Drop the table and bump the index version: result lists and fragments cached with the old
        table retire at once."""
        self.forget()
        bump_index_version()

    def changed(self, sender, raw=False, **kwargs) -> None:
        """A ``post_save``/``post_delete`` receiver. It retires the table after the commit (a rule's products
        are saved with it), or a concurrent search could cache the old table again."""
        if not raw:
            transaction.on_commit(self.retire)
