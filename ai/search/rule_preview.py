"""The admin's preview of a query rule, saved or not: its query's results without and with the rule, side
by side, each result with why it ranks there. The other live rules apply to both lists, so the difference
is this rule's own. Results are an anonymous shopper's, searched but never logged: each says why it ranks
(keyword, semantic, sold out, rules), and the page says that no personal boost applies, as a signed-in
customer's results would get (``serving.personalise``), since a preview has no shopper to rank for."""

from django.utils import timezone

from ai.search.models import QueryRule
from ai.search.retrieval import (
    CANDIDATES,
    SEMANTIC_SIMILARITY_FLOOR,
    keyword_search,
    normalize_query,
    semantic_search,
)
from ai.search.rules import Applied, Rule, apply, live_rules
from ai.search.serving import PREFERENCE_BOOST, search
from commerce.catalogue.models import Product

PREVIEW_LIMIT = 24  # the search page's first page


def preview(rule: QueryRule) -> dict:
    query = normalize_query(rule.query)
    candidate = Rule.of(rule)
    others = [live for live in live_rules() if rule.pk is None or live.pk != rule.pk]
    # Every candidate, before any rule: search() applies rules before it cuts the list, and so does this.
    base = search(query, log=False, rules=[], limit=CANDIDATES)
    ranked = list(zip(base.product_ids, base.scores, strict=True))
    without = apply(query, ranked, rules=others)
    with_rule = apply(query, ranked, rules=sorted([*others, candidate], key=Rule.specificity))
    evidence = _evidence(base.corrected_query or query, base.method)
    shown = [pid for applied in (without, with_rule) for pid, _ in applied.ranked[:PREVIEW_LIMIT]]
    products = Product.objects.only("title", "stock").in_bulk(shown + with_rule.hidden)
    before = {pid: position for position, (pid, _) in enumerate(without.ranked, start=1)}
    return {
        "rule": rule, "query": query, "corrected_query": base.corrected_query,
        "live": rule.enabled and candidate.live(timezone.now()),
        "redirect": candidate.redirect if rule.action == QueryRule.Action.REDIRECT else None,
        "without": _rows(without, products, evidence),
        "with_rule": _rows(with_rule, products, evidence, before=before),
        "hidden": [products[pid] for pid in with_rule.hidden if pid in products and pid not in without.hidden],
        "personal_boost": PREFERENCE_BOOST,
    }


def _evidence(query: str, method: str) -> dict[int, list[str]]:
    """Each candidate's ranks in the keyword and semantic lists the fusion started from."""
    reasons: dict[int, list[str]] = {}
    keyword, _ = keyword_search(query, correct=False)
    for rank, (pid, _) in enumerate(keyword, start=1):
        reasons.setdefault(pid, []).append(f"keyword #{rank}")
    if method == "hybrid":
        semantic = [pid for pid, similarity in semantic_search(query) if similarity >= SEMANTIC_SIMILARITY_FLOOR]
        for rank, pid in enumerate(semantic, start=1):
            reasons.setdefault(pid, []).append(f"semantic #{rank}")
    return reasons


def _rows(applied: Applied, products: dict, evidence: dict[int, list[str]], *, before: dict | None = None
          ) -> list[dict]:
    rows = []
    for position, (pid, score) in enumerate(applied.ranked[:PREVIEW_LIMIT], start=1):
        product = products[pid]
        reasons = [*evidence.get(pid, []), *(["sold out"] if product.stock == 0 else []),
                   *(f"rule: {reason}" for reason in applied.reasons.get(pid, []))]
        moved = None if before is None else before.get(pid)
        rows.append({"position": position, "product": product, "score": score, "reasons": reasons,
                     "was": moved if moved != position else None, "new": before is not None and moved is None})
    return rows
