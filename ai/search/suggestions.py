"""Suggestions as the shopper types in the header search box (read side; the search box's combobox asks
``/search/suggest?q=``). For a prefix: the popular queries that found something, then phrases from product
titles, then categories. A prefix's list is cached in Redis for a minute: typing repeats the same few
prefixes, and each list costs a few indexed prefix scans that should not run on every keystroke."""

import datetime
import hashlib
import re
from collections import Counter
from urllib.parse import urlencode

from django.core.cache import cache
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from ai.search.caching import cache_key
from ai.search.models import SearchQuery, unsearchable
from ai.search.retrieval import normalize_query
from commerce.catalogue.models import Category, Product

LIMIT = 8
MAX_QUERIES = 5  # leaves room for what the catalogue itself has under the prefix
MAX_CATEGORIES = 3
MIN_PREFIX = 2  # one letter matches too much to help, and would aggregate most of the query log
MAX_PREFIX = 100
QUERY_DAYS = 30
# A query only one visitor ran is not shown to others: it may carry a name or an address, not a product.
MIN_SEARCHERS = 2
TITLE_SCAN = 500  # matching titles read for phrases: enough to rank a prefix's common phrases
SUGGESTIONS_TTL = 60

_WORD = re.compile(r"[\w'’-]+")


def suggest(text: str) -> list[dict]:
    """At most ``LIMIT`` suggestions for what the shopper typed so far, each ``{"text", "kind", "url"}``
    with kind ``query`` (a popular search), ``phrase`` (words from product titles) or ``category``;
    matched case-insensitively at the start of a word (of a query: at its start)."""
    prefix = normalize_query(text)[:MAX_PREFIX]
    if len(prefix) < MIN_PREFIX:
        return []
    key = cache_key("suggest:" + hashlib.sha1(prefix.encode()).hexdigest())
    suggestions = cache.get(key)
    if suggestions is None:
        suggestions = _suggestions(prefix)
        cache.set(key, suggestions, SUGGESTIONS_TTL)
    return suggestions


def _suggestions(prefix: str) -> list[dict]:
    queries = popular_prefixed_queries(prefix, MAX_QUERIES)
    categories = matching_categories(prefix, MAX_CATEGORIES)
    phrases = [p for p in title_phrases(prefix, LIMIT) if p not in queries]
    phrases = phrases[:LIMIT - len(queries) - len(categories)]
    return ([_search_suggestion(q, "query") for q in queries] + [_search_suggestion(p, "phrase") for p in phrases]
            + [{"text": name, "kind": "category", "url": url} for name, url in categories])


def _search_suggestion(text: str, kind: str) -> dict:
    return {"text": text, "kind": kind, "url": reverse("search:search") + "?" + urlencode({"q": text})}


def popular_prefixed_queries(prefix: str, count: int) -> list[str]:
    """Logged queries starting with ``prefix`` that found something, searched by at least ``MIN_SEARCHERS``
    visitors in the last ``QUERY_DAYS`` days: most clicked first, then most searched. ``normalized`` has a
    ``varchar_pattern_ops`` index (Django adds one to an indexed CharField), so the prefix is an index range."""
    since = timezone.now() - datetime.timedelta(days=QUERY_DAYS)
    return list(
        SearchQuery.objects.filter(normalized__startswith=prefix, created_at__gte=since, result_count__gt=0)
        .values("normalized")
        .annotate(clicks=Count("pk", filter=Q(clicked_product__isnull=False)), searches=Count("pk"),
                  searchers=Count("visitor_id", distinct=True))
        .filter(searchers__gte=MIN_SEARCHERS)
        .order_by("-clicks", "-searches", "normalized").values_list("normalized", flat=True)[:count])


def title_phrases(prefix: str, count: int) -> list[str]:
    """Words of active products' titles that complete the prefix at a word start ("lam" → "lamp"), alone
    and with the title's next word ("lamp shade"), most products first, then shorter. A phrase that starts
    or ends on a word the index ignores ("with") is left out: searching it would find nothing more."""
    prefix_words = len(prefix.split())
    counts: Counter[str] = Counter()
    # Unordered, so the scan stops at the TITLE_SCAN-th match rather than sorting every match by title.
    titles = Product.objects.filter(active=True, title__icontains=prefix).order_by().values_list("title", flat=True)
    for title in titles[:TITLE_SCAN]:
        words = [w.lower() for w in _WORD.findall(title)]
        found = set()
        for start in range(len(words)):
            completed = " ".join(words[start:start + prefix_words])
            if completed.startswith(prefix):
                found.add(completed)
                if start + prefix_words < len(words):
                    found.add(" ".join(words[start:start + prefix_words + 1]))
        counts.update(found)
    ignored = set(unsearchable(sorted({w for phrase in counts for w in (phrase.split()[0], phrase.split()[-1])})))
    phrases = [p for p in counts if p.split()[0] not in ignored and p.split()[-1] not in ignored]
    return sorted(phrases, key=lambda p: (-counts[p], len(p), p))[:count]


def matching_categories(prefix: str, count: int) -> list[tuple[str, str]]:
    """(name, URL) of the categories with a word of their name starting with ``prefix``, in menu order."""
    found = []
    for category in Category.objects.filter(name__icontains=prefix).only("name", "slug"):
        words = " ".join(w.lower() for w in _WORD.findall(category.name))
        if f" {prefix}" in f" {words}":
            found.append((category.name, category.get_absolute_url()))
    return found[:count]
