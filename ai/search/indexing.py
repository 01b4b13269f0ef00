"""Search's write side: embed products and write their keyword documents and BM25 postings, rebuild the
term statistics. Runs in Celery tasks, management commands and benchmarks, never in a request."""

import hashlib
import math
from typing import NamedTuple

from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from ai import embeddings
from ai.search.caching import CORPUS_STATS_KEY, bump_index_version, cache_key
from ai.search.models import ProductEmbedding, SearchDocument, SearchPosting, SearchStatistics, SearchTerm
from ai.search.retrieval import BM25_B, BM25_K1, FIELD_WEIGHTS, category_chains, departments_of_categories
from commerce.catalogue.models import Product

_WEIGHT_CASE = "CASE w " + " ".join(f"WHEN '{w}' THEN {v}" for w, v in FIELD_WEIGHTS.items()) + " END"
# Impacts are recomputed (one UPDATE of every posting) only when the average length moves this much.
IMPACT_DRIFT = 0.02

DOCUMENTS, POSTINGS, TERMS = SearchDocument._meta.db_table, SearchPosting._meta.db_table, SearchTerm._meta.db_table


def category_paths(chains: dict[int, list[tuple[int, str]]] | None = None) -> dict[int, str]:
    """Each category's path from its department ("Kitchen & Dining > Mugs"); ``chains``: ``category_chains()``
    if read already."""
    return {pk: " > ".join(name for _, name in chain)
            for pk, chain in (category_chains() if chains is None else chains).items()}


def text_hash(text: str) -> str:
    return hashlib.sha256(f"{embeddings.model_version()}\n{text}".encode()).hexdigest()


def index_products(product_ids: list[int], *, force: bool = False, paths: dict[int, str] | None = None) -> int:
    """(Re-)index products whose text changed since they were last embedded, and give every embedding its
    product's department (a product or category moved to another department re-embeds, its category
    path being part of the text; an embedding whose department alone is stale is corrected without
    one). Returns how many were written.

    Safe to run twice or concurrently for the same products: writes are upserts keyed by product.
    """
    products = list(Product.objects.filter(pk__in=product_ids).only(
        "pk", "title", "description", "category_id", "attributes"))
    chains = category_chains()  # one read of the tree for the paths and the departments
    paths = paths or category_paths(chains)
    departments = departments_of_categories(chains)
    texts = {p.pk: embeddings.product_text(p.title, p.description, paths.get(p.category_id, ""), p.attributes or {})
             for p in products}
    hashes = {pk: text_hash(text) for pk, text in texts.items()}
    moved = {}
    if not force:
        stored = {pk: (stored_hash, department) for pk, stored_hash, department in ProductEmbedding.objects.filter(
            pk__in=hashes).values_list("product_id", "text_hash", "department_id")}
        moved = {p.pk: departments.get(p.category_id) for p in products if p.pk in stored
                 and stored[p.pk][0] == hashes[p.pk] and stored[p.pk][1] != departments.get(p.category_id)}
        hashes = {pk: h for pk, h in hashes.items() if stored.get(pk, (None,))[0] != h}
    if not hashes and not moved:
        return 0
    changed = [p for p in products if p.pk in hashes]
    vectors = embeddings.encode([texts[p.pk] for p in changed]) if changed else []
    version = embeddings.model_version()
    with transaction.atomic():
        ProductEmbedding.objects.bulk_create(
            [ProductEmbedding(product_id=p.pk, embedding=vector, text_hash=hashes[p.pk], model_version=version,
                              department_id=departments.get(p.category_id))
             for p, vector in zip(changed, vectors, strict=True)],
            update_conflicts=True, unique_fields=["product"],
            update_fields=["embedding", "text_hash", "model_version", "department_id", "updated_at"],
        )
        for department in set(moved.values()):  # updated_at: the row moved between partial indexes (drift)
            ProductEmbedding.objects.filter(pk__in=[pk for pk, d in moved.items() if d == department]).update(
                department_id=department, updated_at=timezone.now())
        if changed:
            _write_keyword_documents(changed, paths)
    bump_index_version()
    return len(changed) + len(moved)


def _impact_sql(length_column: str) -> str:
    """A posting's BM25 term weight from its ``frequency`` and a length column; one %s: the average length."""
    return f"frequency * {BM25_K1 + 1} / (frequency + {BM25_K1} * (1 - {BM25_B} + {BM25_B} * {length_column} / %s))"


def _write_keyword_documents(products: list[Product], paths: dict[int, str]) -> None:
    ids = [p.pk for p in products]
    titles = [p.title for p in products]
    categories = [paths.get(p.category_id, "") for p in products]
    rest = [" ".join(f"{k} {v}" for k, v in (p.attributes or {}).items()) + " " + (p.description or "")
            for p in products]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {DOCUMENTS} (product_id, vector, length)
                SELECT id, setweight(to_tsvector('english', title), 'A')
                           || setweight(to_tsvector('english', category), 'B')
                           || setweight(to_tsvector('english', rest), 'C'), 0
                FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[]) AS src(id, title, category, rest)
                ON CONFLICT (product_id) DO UPDATE SET vector = EXCLUDED.vector""",
            [ids, titles, categories, rest],
        )
        cursor.execute(f"DELETE FROM {POSTINGS} WHERE product_id = ANY(%s)", [ids])
        cursor.execute(
            f"""INSERT INTO {POSTINGS} (term, product_id, frequency, document_length, impact)
                SELECT term, product_id, frequency, length, {_impact_sql("length")}
                FROM (SELECT term, product_id, frequency, sum(frequency) OVER (PARTITION BY product_id) AS length
                      FROM (SELECT left(u.lexeme, 100) AS term, d.product_id, sum({_WEIGHT_CASE}) AS frequency
                            FROM {DOCUMENTS} d, unnest(d.vector) AS u, unnest(u.weights) AS w
                            WHERE d.product_id = ANY(%s)
                            GROUP BY 1, 2) AS counted) AS postings""",
            [_impact_average_length(cursor, ids), ids],
        )
        cursor.execute(
            f"""UPDATE {DOCUMENTS} d SET length = s.total
                FROM (SELECT product_id, sum(frequency) AS total FROM {POSTINGS}
                      WHERE product_id = ANY(%s) GROUP BY product_id) s
                WHERE d.product_id = s.product_id""",
            [ids],
        )


def _impact_average_length(cursor, ids: list[int]) -> float:
    """The average document length impacts are computed with: the corpus's, as of the last statistics
    refresh; before the first one, this batch's own (the refresh then recomputes every impact)."""
    stats = SearchStatistics.objects.filter(impact_average_length__gt=0).first()
    if stats:
        return stats.impact_average_length
    cursor.execute(
        f"""SELECT coalesce(avg(length), 1) FROM (
                SELECT sum({_WEIGHT_CASE}) AS length FROM {DOCUMENTS} d, unnest(d.vector) AS u,
                       unnest(u.weights) AS w WHERE d.product_id = ANY(%s) GROUP BY d.product_id) AS lengths""",
        [ids],
    )
    return float(cursor.fetchone()[0]) or 1.0


class TermStatistics(NamedTuple):
    vocabulary: int  # distinct indexed terms
    changed: bool  # whether any figure BM25 or typo correction reads changed (the index version was bumped)


def refresh_term_statistics() -> TermStatistics:
    """Bring document frequencies (idf, typo vocabulary) and the corpus figures up to date with the
    postings; recompute every posting's impact if the average document length drifted by more than
    ``IMPACT_DRIFT`` since they were computed. Only terms whose count changed are written, so a refresh
    that finds the catalogue as it was writes no term and leaves the index version (and every cached
    result list) alone."""
    with transaction.atomic(), connection.cursor() as cursor:
        stats, _ = SearchStatistics.objects.select_for_update().get_or_create(pk=1)  # one refresh at a time
        cursor.execute(
            f"""WITH fresh AS MATERIALIZED (SELECT term, count(*) AS document_count FROM {POSTINGS} GROUP BY term),
                gone AS (DELETE FROM {TERMS} t WHERE NOT EXISTS (SELECT FROM fresh f WHERE f.term = t.term)
                         RETURNING 1),
                counted AS (UPDATE {TERMS} t SET document_count = f.document_count FROM fresh f
                            WHERE f.term = t.term AND t.document_count <> f.document_count RETURNING 1),
                added AS (INSERT INTO {TERMS} (term, document_count)
                          SELECT term, document_count FROM fresh f
                          WHERE NOT EXISTS (SELECT FROM {TERMS} t WHERE t.term = f.term) RETURNING 1)
                SELECT (SELECT count(*) FROM fresh),
                       (SELECT count(*) FROM gone) + (SELECT count(*) FROM counted) + (SELECT count(*) FROM added)"""
        )
        vocabulary, terms_written = cursor.fetchone()
        cursor.execute(f"SELECT count(*), coalesce(avg(length), 0) FROM {DOCUMENTS}")
        documents, average = cursor.fetchone()
        previous = stats.impact_average_length
        reweighted = bool(average and (not previous or abs(average - previous) / previous > IMPACT_DRIFT))
        if reweighted:
            cursor.execute(f"UPDATE {POSTINGS} SET impact = {_impact_sql('document_length')}", [average])
            stats.impact_average_length = average
        # avg() over floats may differ in its last bits between runs: a change is one beyond rounding.
        changed = bool(terms_written or reweighted or documents != stats.documents
                       or not math.isclose(average, stats.average_length, rel_tol=1e-9))
        stats.documents, stats.average_length, stats.refreshed_at = documents, average, timezone.now()
        stats.save()
    if changed:
        cache.delete(cache_key(CORPUS_STATS_KEY))
        bump_index_version()
    return TermStatistics(vocabulary, changed)
