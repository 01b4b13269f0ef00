"""Search analytics for merchandisers: what shoppers look for, what finds nothing, what gets clicked."""

import datetime as dt

from django.db import connection
from django.db.models import Count, F, Max, Q
from django.utils import timezone

from ai.search import rules, synonyms
from ai.search.models import SearchQuery, Synonym, split_terms

# A search a rule sent to a page shows no results, yet found what the merchandiser chose.
FOUND_NOTHING = Q(result_count=0) & ~Q(method=SearchQuery.REDIRECTED)


def search_report(*, days: int = 30, limit: int = 25) -> dict:
    since = timezone.now() - dt.timedelta(days=days)
    recent = SearchQuery.objects.filter(created_at__gte=since)
    totals = recent.aggregate(
        searches=Count("pk"), zero=Count("pk", filter=FOUND_NOTHING),
        clicked=Count("pk", filter=Q(clicked_product__isnull=False)), converted=Count("pk", filter=Q(converted=True)),
    )
    grouped = recent.values("normalized").annotate(
        searches=Count("pk"), clicks=Count("pk", filter=Q(clicked_product__isnull=False)),
        conversions=Count("pk", filter=Q(converted=True)), zero=Count("pk", filter=FOUND_NOTHING),
    )
    searches = totals["searches"] or 1
    return {
        "days": days,
        "totals": totals,
        "click_through": totals["clicked"] / searches,
        "conversion": totals["converted"] / searches,
        "zero_rate": totals["zero"] / searches,
        "top": [{**row, "ctr": row["clicks"] / row["searches"]}
                for row in grouped.order_by("-searches", "normalized")[:limit]],
        "zero_results": list(grouped.filter(zero__gt=0).order_by("-zero", "normalized")[:limit]),
    }


# --- what to act on: the report's lists, each its top ``ROWS`` over the period -------------------------

ROWS = 200  # per list: the report pages through them, and no list reads more of the log
LOW_CLICK_SEARCHES = 5  # a query shown results at least this often…
LOW_CLICK_RATE = 0.1  # …and clicked on fewer than this share of those searches is "low-click"
REFORMULATION_MINUTES = 5  # how soon a visitor's next search counts as a rewording of the last


def period(days: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


def zero_result_queries(since: dt.datetime, *, limit: int = ROWS) -> list[dict]:
    """Queries that found nothing, most frequent first, with when one last did."""
    return list(SearchQuery.objects.filter(FOUND_NOTHING, created_at__gte=since).values("normalized")
                .annotate(searches=Count("pk"), last_seen=Max("created_at"))
                .order_by("-searches", "normalized")[:limit])


def low_click_queries(since: dt.datetime, *, limit: int = ROWS) -> list[dict]:
    """Queries shown results often (``LOW_CLICK_SEARCHES``) but clicked on less than ``LOW_CLICK_RATE``
    of the time: the results do not answer them."""
    rows = SearchQuery.objects.filter(created_at__gte=since, result_count__gt=0).values("normalized").annotate(
        searches=Count("pk"), clicks=Count("pk", filter=Q(clicked_product__isnull=False)),
    ).filter(searches__gte=LOW_CLICK_SEARCHES, clicks__lt=F("searches") * LOW_CLICK_RATE)
    return [{**row, "ctr": row["clicks"] / row["searches"]}
            for row in rows.order_by("-searches", "normalized")[:limit]]


def applied_queries(since: dt.datetime, *, limit: int = ROWS) -> list[dict]:
    """The period's most searched queries that a current synonym or enabled query rule matches, with
    what matched and their click-through (searches a redirect rule answered are logged too). Matched now,
    not when searched: the log does not record it, and what a merchandiser may change is the current set."""
    grouped = list(SearchQuery.objects.filter(created_at__gte=since).values("normalized").annotate(
        searches=Count("pk"), clicks=Count("pk", filter=Q(clicked_product__isnull=False)),
    ).order_by("-searches", "normalized")[:limit])
    enabled = list(Synonym.objects.filter(enabled=True))
    terms = {synonym.pk: split_terms(synonym.terms) for synonym in enabled}
    lexemes = synonyms.stems(sorted({row["normalized"] for row in grouped} | {t for ts in terms.values() for t in ts}))
    enabled_rules, rows = rules.table(), []
    for row in grouped:
        query = row["normalized"]
        present = set(lexemes.get(query, ()))
        # As ``synonyms.expand`` applies them: a term applies when the query has all its lexemes.
        matched = [str(synonym) for synonym in enabled
                   if any(lexemes.get(term) and present.issuperset(lexemes[term]) for term in terms[synonym.pk])]
        matched_rules = [rule.name for rule in enabled_rules if rule.matches(query)]
        if matched or matched_rules:
            rows.append({**row, "ctr": row["clicks"] / row["searches"], "synonyms": matched, "rules": matched_rules})
    return rows


def synonym_suggestions(since: dt.datetime, *, limit: int = ROWS) -> list[dict]:
    """One-way synonyms mined from the log: a search that found nothing or got no click, followed within
    ``REFORMULATION_MINUTES`` by the same visitor's differently worded search that found results and got a
    click ("tee", then "t-shirt"), suggests "tee → t-shirt". Ranked by how many visitors reworded so."""
    table = SearchQuery._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT a.normalized, b.normalized, COUNT(DISTINCT a.visitor_id) AS visitors, MAX(b.created_at) "
            f"FROM {table} a JOIN {table} b ON b.visitor_id = a.visitor_id AND b.created_at > a.created_at "
            f"AND b.created_at <= a.created_at + make_interval(mins => %s) "
            f"WHERE a.created_at >= %s AND a.visitor_id IS NOT NULL AND a.method <> %s "
            f"AND (a.result_count = 0 OR a.clicked_product_id IS NULL) "
            f"AND b.result_count > 0 AND b.clicked_product_id IS NOT NULL AND b.normalized <> a.normalized "
            f"GROUP BY 1, 2 ORDER BY visitors DESC, 1, 2 LIMIT %s",
            [REFORMULATION_MINUTES, since, SearchQuery.REDIRECTED, limit])
        found = cursor.fetchall()
    lexemes = synonyms.stems(sorted({word for query, target, *_ in found for word in (query, target)}))
    # A rewording a current synonym already brings in needs no new one (the log predates it).
    return [{"query": query, "target": target, "visitors": visitors, "last_seen": last_seen}
            for query, target, visitors, last_seen in found
            if lexemes[query] and not set(synonyms.expand(list(lexemes[query]))[0]).issuperset(lexemes[target])]
