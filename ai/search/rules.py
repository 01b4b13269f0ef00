"""Merchandisers' query rules (read side): ``serving.search`` and the curated lists apply them to a ranked
list once fusion, personalisation and the sold-out order are done, so the search page, the API and curated
search blocks all see them. The views ask ``redirect_for`` before searching.

A rule applies to a query it matches (the normalised query equals, or contains, the rule's query) while it
is enabled and inside its window. Several rules may apply, in this order:

1. hide: the products disappear (a hidden product is never shown, even if another rule pins it);
2. boost: a product of the category (or below) or with the attribute value scores ``boost_percent`` more,
   and the list is re-sorted by score (sold-out products stay after in-stock ones while
   ``VITRINE_SEARCH_SOLD_OUT_LAST`` is on); several boosts multiply;
3. bury: the products move to the end, in their ranked order;
4. pin: the product moves to its position; a product no result matched is added only to unfiltered
   searches (a filter the shopper chose wins). When two pins claim a position, the more specific rule
   (exact before contains, then the longer query, then the name) gets it and the other the next one.

Of several redirects, the most specific rule wins. The enabled rules are cached as one table, dropped on
every change (``receivers``); results are cached under the live rules' ``fingerprint``, so a window that
opens or closes retires them as a save does."""

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from ai.search.caching import CachedTable
from ai.search.models import QueryRule
from ai.search.retrieval import NO_FILTERS, Filters, normalize_query
from commerce.catalogue.models import Product

Action = QueryRule.Action


@dataclass(frozen=True)
class Rule:
    """A query rule as searches apply it: plain values, cheap to cache and to match."""

    pk: int | None
    name: str
    exact: bool
    query: str
    action: str
    product_ids: tuple[int, ...] = ()
    position: int | None = None
    category_ids: frozenset[int] = frozenset()
    attribute: tuple[str, str] | None = None
    boost: float = 0.0  # the share a boosted score gains
    redirect: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    @classmethod
    def of(cls, rule: QueryRule) -> "Rule":
        """From a rule, saved or not (the preview's products are the form's, held by the cluster)."""
        return cls(
            pk=rule.pk, name=rule.name, exact=rule.match == QueryRule.Match.EXACT, query=rule.query,
            action=rule.action, product_ids=tuple(product.pk for product in rule.products.all()),
            position=rule.position,
            category_ids=frozenset(rule.category.descendant_ids() if rule.category_id else ()),
            attribute=(rule.attribute_name, rule.attribute_value) if rule.attribute_name else None,
            boost=rule.boost_percent / 100,
            redirect=(rule.redirect_page.url if rule.redirect_page_id else rule.redirect_url) or None,
            starts_at=rule.starts_at, ends_at=rule.ends_at)

    def matches(self, query: str) -> bool:
        return query == self.query if self.exact else self.query in query

    def live(self, now: datetime) -> bool:
        return (self.starts_at is None or self.starts_at <= now) and (self.ends_at is None or now < self.ends_at)

    def specificity(self) -> tuple:
        return not self.exact, -len(self.query), self.name


@dataclass
class Applied:
    """A ranking after the rules: (product id, score) pairs, what each rule did to a product (for the
    admin's preview) and the products hidden."""

    ranked: list[tuple[int, float]]
    reasons: dict[int, list[str]] = field(default_factory=dict)
    hidden: list[int] = field(default_factory=list)


def compile_rules() -> list[Rule]:
    """The enabled rules, whatever their window, most specific first."""
    enabled = QueryRule.objects.filter(enabled=True).select_related("category", "redirect_page") \
        .prefetch_related("products")
    return sorted((Rule.of(rule) for rule in enabled), key=Rule.specificity)


table = CachedTable("query-rules", QueryRule, compile_rules)


def live_rules() -> list[Rule]:
    now = timezone.now()
    return [rule for rule in table() if rule.live(now)]


def fingerprint() -> str:
    """Names the rules live now, for the keys of cached results: a rule's window opening or closing
    changes it."""
    pks = [rule.pk for rule in live_rules()]
    return hashlib.sha1(repr(pks).encode()).hexdigest()[:12] if pks else "none"


def redirect_for(query: str) -> str | None:
    """Where a search for ``query`` (as typed) sends the shopper instead, if a live rule says so."""
    query = normalize_query(query)
    return next((rule.redirect for rule in live_rules() if rule.action == Action.REDIRECT and rule.matches(query)),
                None)


def apply(query: str, ranked: list[tuple[int, float]], *, filters: Filters = NO_FILTERS,
          rules: list[Rule] | None = None) -> Applied:
    """The rules (``rules``, else the live ones) that match ``query`` applied to ``ranked``, in the order
    the module's docstring gives."""
    matching = [rule for rule in (live_rules() if rules is None else rules)
                if rule.action != Action.REDIRECT and rule.matches(query)]
    applied = Applied(ranked=list(ranked))
    if not matching:
        return applied
    hidden = {pid for rule in matching if rule.action == Action.HIDE for pid in rule.product_ids}
    applied.hidden = [pid for pid, _ in ranked if pid in hidden]
    applied.ranked = [(pid, score) for pid, score in ranked if pid not in hidden]
    _boost(applied, [rule for rule in matching if rule.action == Action.BOOST])
    _bury(applied, [rule for rule in matching if rule.action == Action.BURY])
    pins = sorted((rule for rule in matching if rule.action == Action.PIN and rule.product_ids
                   and rule.product_ids[0] not in hidden), key=lambda rule: (rule.position, rule.specificity()))
    _pin(applied, pins, filtered=replace(filters, price_list=NO_FILTERS.price_list) != NO_FILTERS)
    return applied


def _boost(applied: Applied, boosts: list[Rule]) -> None:
    if not boosts or not applied.ranked:
        return
    rows = Product.objects.filter(pk__in=[pid for pid, _ in applied.ranked]).values_list(
        "pk", "category_id", "attributes", "stock")
    products = {pid: (category_id, attributes or {}) for pid, category_id, attributes, _ in rows}
    sold_out = {pid for pid, _, _, stock in rows if stock == 0} if settings.VITRINE_SEARCH_SOLD_OUT_LAST else set()
    boosted = []
    for pid, score in applied.ranked:
        category_id, attributes = products.get(pid, (None, {}))
        for rule in boosts:
            if category_id in rule.category_ids or (rule.attribute and _has(attributes, *rule.attribute)):
                score *= 1 + rule.boost
                applied.reasons.setdefault(pid, []).append(f"boosted +{rule.boost:.0%} ({rule.name})")
        boosted.append((pid, score))
    applied.ranked = sorted(boosted, key=lambda item: (item[0] in sold_out, -item[1]))


def _has(attributes: dict, name: str, value: str) -> bool:
    """Attribute names and values compare case-insensitively: merchandisers type "Colour = Red"."""
    wanted = {key.lower(): str(found).lower() for key, found in attributes.items()}
    return wanted.get(name.lower()) == value.lower()


def _bury(applied: Applied, buries: list[Rule]) -> None:
    buried = {}
    for rule in buries:
        for pid in rule.product_ids:
            buried.setdefault(pid, rule.name)
    if not buried:
        return
    applied.ranked = sorted(applied.ranked, key=lambda item: item[0] in buried)
    for pid, _ in applied.ranked:
        if pid in buried:
            applied.reasons.setdefault(pid, []).append(f"buried ({buried[pid]})")


def _pin(applied: Applied, pins: list[Rule], *, filtered: bool) -> None:
    if not pins:
        return
    scores = dict(applied.ranked)
    missing = {pid for rule in pins for pid in rule.product_ids[:1] if pid not in scores}
    if missing and not filtered:  # added only where the shop would list them
        scores.update((pid, 0.0) for pid in Product.objects.filter(pk__in=missing, active=True)
                      .values_list("pk", flat=True))
    ranked, pinned = [pid for pid, _ in applied.ranked], set()
    for rule in pins:
        pid = rule.product_ids[0]
        if pid in pinned or pid not in scores:
            continue
        if pid in ranked:
            ranked.remove(pid)
        index = min(rule.position - 1, len(ranked))
        while index < len(ranked) and ranked[index] in pinned:  # a more specific pin holds this position
            index += 1
        ranked.insert(index, pid)
        pinned.add(pid)
        applied.reasons.setdefault(pid, []).append(f"pinned at {rule.position} ({rule.name})")
    applied.ranked = [(pid, scores[pid]) for pid in ranked]
