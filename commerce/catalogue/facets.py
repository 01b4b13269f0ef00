"""Facets of a product listing (the search page's candidates, a category's products): category, price band,
in stock and the catalogue's common attributes, each value with how many products it would show.

A selection is read from URL parameters (``?colour=navy&colour=oak&price=10-25&in_stock=1``), so a
filtered listing can be shared and bookmarked. Values of one facet are ORed, facets are ANDed, and each
facet's counts are taken under all the *other* active facets (disjunctive faceting): a count is what the
listing would show after adding that value. All counts come from one SQL statement over the listing.
"""

from dataclasses import dataclass, field

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import F, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.http import QueryDict

from commerce.catalogue.models import Category, PriceList

# Keys of ``Product.attributes`` offered as facets: in the demo catalogue each is set on hundreds of
# products with a handful to a few dozen values (docs/catalogue-data.md); keys like ``dimensions_cm``
# have a value per product and would make lists nobody scans.
ATTRIBUTES = (("colour", "Colour"), ("material", "Material"), ("pattern", "Pattern"), ("finish", "Finish"))
MAX_VALUES = 12  # per attribute facet, most common first; selected values are always listed
# Price bands as [low, high) in the shop's currency; None: no upper bound. Parameter values are "10-25", "250-".
PRICE_BANDS = ((0, 10), (10, 25), (25, 50), (50, 100), (100, 250), (250, None))
CATEGORY = "cat"
PRICE = "price"
IN_STOCK = "in_stock"
PARAMETERS = (CATEGORY, PRICE, IN_STOCK, *(key for key, _ in ATTRIBUTES))


def band_key(low, high) -> str:
    return f"{low}-{'' if high is None else high}"


def band_label(low, high) -> str:
    return f"£{high} and under" if low == 0 else f"£{low} and over" if high is None else f"£{low} to £{high}"


BANDS = {band_key(low, high): (low, high) for low, high in PRICE_BANDS}


@dataclass(frozen=True)
class Buckets:
    """The category facet's values: category slug → the category ids it covers (itself and below), and
    its name. On the search page the departments, on a category page its subcategories."""

    label: str
    slugs: dict[str, tuple[str, list[int]]]

    @classmethod
    def below(cls, parent: Category | None) -> "Buckets":
        rows = list(Category.objects.values_list("id", "parent_id", "slug", "name"))
        children: dict[int | None, list[tuple]] = {}
        for row in rows:
            children.setdefault(row[1], []).append(row)

        def subtree(pk: int) -> list[int]:
            return [pk, *(i for child in children.get(pk, ()) for i in subtree(child[0]))]

        tops = sorted(children.get(parent.pk if parent else None, ()), key=lambda row: row[3])
        return cls("Department" if parent is None else "Category",
                   {slug: (name, subtree(pk)) for pk, _, slug, name in tops})


@dataclass(frozen=True)
class Selection:
    """The facet values a shopper chose; unknown values are ignored (a stale bookmark still opens)."""

    categories: tuple[str, ...] = ()
    prices: tuple[str, ...] = ()
    in_stock: bool = False
    attributes: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_query(cls, query: QueryDict, buckets: Buckets) -> "Selection":
        def chosen(name, allowed=None):
            values = dict.fromkeys(v for v in query.getlist(name) if v and (allowed is None or v in allowed))
            return tuple(v[:200] for v in values)

        return cls(categories=chosen(CATEGORY, buckets.slugs), prices=chosen(PRICE, BANDS),
                   in_stock=query.get(IN_STOCK, "") in {"1", "true", "on"},
                   attributes={key: values for key, _ in ATTRIBUTES if (values := chosen(key))})

    def __bool__(self):
        return bool(self.categories or self.prices or self.in_stock or self.attributes)

    def filter(self, products: QuerySet, buckets: Buckets, price_list: str = PriceList.CURRENT) -> QuerySet:
        """``products`` narrowed to this selection (the same conditions the counts use)."""
        price = "base_price" if price_list == PriceList.BASE else "price"
        if self.categories:
            products = products.filter(category_id__in=[pk for s in self.categories for pk in buckets.slugs[s][1]])
        if self.prices:
            bands = Q()
            for low, high in (BANDS[key] for key in self.prices):
                bands |= Q(**{f"{price}__gte": low}) & (Q(**{f"{price}__lt": high}) if high is not None else Q())
            products = products.filter(bands)
        if self.in_stock:
            products = products.filter(stock__gt=0)
        for key, values in self.attributes.items():
            products = products.filter(**{f"attributes__{key}__in": list(values)})
        return products


@dataclass(frozen=True)
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool
    url: str  # this listing with the value toggled (and back to page 1)


@dataclass(frozen=True)
class Facet:
    name: str
    label: str
    values: list[FacetValue]


@dataclass(frozen=True)
class Facets:
    facets: list[Facet]
    total: int  # products under the whole selection
    selection: Selection
    clear_url: str  # this listing without any facet
    hidden_fields: list[tuple[str, str]]  # the selection as (name, value) pairs, for forms that must keep it


def counts(products: QuerySet, selection: Selection, buckets: Buckets,
           price_list: str = PriceList.CURRENT) -> tuple[dict[str, dict[str, int]], int]:
    """``{facet: {value: count}}`` over ``products`` under the other facets' selection, and the count under
    the whole selection: one statement (a materialized CTE counting the listing's distinct combinations of
    facet values, then one GROUP BY per facet over it)."""
    price = "base_price" if price_list == PriceList.BASE else "price"
    # The listing's own query selects the facet columns: one scan of its rows, not a join of its ids back
    # to the table (several times slower on a department: docs/benchmarks.md, "Facets").
    columns = products.order_by().annotate(
        facet_price=F(price), **{f"a{i}": KeyTextTransform(key, "attributes") for i, (key, _) in enumerate(ATTRIBUTES)})
    try:
        base_sql, base_params = columns.values("category_id", "facet_price", "stock", *(
            f"a{i}" for i in range(len(ATTRIBUTES)))).query.sql_with_params()
    except EmptyResultSet:  # e.g. ``pk__in=[]``: a search that found nothing
        return {name: {} for name in PARAMETERS}, 0
    band = "CASE " + " ".join(f"WHEN r.facet_price < {high} THEN '{band_key(low, high)}'"
                              for low, high in PRICE_BANDS if high is not None)
    band += f" ELSE '{band_key(*PRICE_BANDS[-1])}' END"
    leaves = [(pk, slug) for slug, (_, ids) in buckets.slugs.items() for pk in ids]

    # Each facet: the column it groups by, and its condition with its parameters (None: not selected).
    facets = {CATEGORY: ("cat", ("cat = ANY(%s)", [list(selection.categories)]) if selection.categories else None),
              PRICE: ("band", ("band = ANY(%s)", [list(selection.prices)]) if selection.prices else None),
              IN_STOCK: ("in_stock::text", ("in_stock", []) if selection.in_stock else None)}
    for i, (key, _) in enumerate(ATTRIBUTES):
        values = selection.attributes.get(key)
        facets[key] = (f"a{i}", (f"a{i} = ANY(%s)", [list(values)]) if values else None)

    def where(excluding: str | None) -> tuple[str, list]:
        chosen = [condition for name, (_, condition) in facets.items() if condition and name != excluding]
        return " AND ".join(["TRUE", *(sql for sql, _ in chosen)]), [p for _, params in chosen for p in params]

    parts, params = [], []
    for name, (column, _) in facets.items():
        condition, condition_params = where(name)
        parts.append(f"SELECT %s, {column}, sum(n)::int FROM facet_rows WHERE {condition} AND {column} IS NOT NULL "
                     f"GROUP BY {column}")
        params += [name, *condition_params]
    condition, condition_params = where(None)
    parts.append(f"SELECT 'total', '', coalesce(sum(n), 0)::int FROM facet_rows WHERE {condition}")
    params += condition_params
    attributes = ", ".join(f"r.a{i}" for i in range(len(ATTRIBUTES)))
    sql = (f"WITH facet_rows AS MATERIALIZED (SELECT buckets.slug AS cat, {band} AS band, r.stock > 0 AS in_stock, "
           f"{attributes}, count(*) AS n FROM ({base_sql}) r "
           "LEFT JOIN unnest(%s::int[], %s::text[]) AS buckets(leaf, slug) ON buckets.leaf = r.category_id "
           f"GROUP BY {', '.join(str(i) for i in range(1, 4 + len(ATTRIBUTES)))}) "
           + " UNION ALL ".join(parts))
    with connection.cursor() as cursor:
        cursor.execute(sql, [*base_params, [pk for pk, _ in leaves], [s for _, s in leaves], *params])
        rows = cursor.fetchall()
    found: dict[str, dict[str, int]] = {name: {} for name in facets}
    total = 0
    for name, value, count in rows:
        if name == "total":
            total = count
        else:
            found[name][value] = count
    return found, total


def _toggled(query: QueryDict, name: str, value: str) -> str:
    query = query.copy()
    query.pop("page", None)
    values = query.getlist(name)
    query.setlist(name, [v for v in values if v != value] if value in values else [*values, value])
    return "?" + query.urlencode()


def facets(products: QuerySet, query: QueryDict, buckets: Buckets, *,
           price_list: str = PriceList.CURRENT) -> Facets:
    """The facets of ``products`` (a listing before any facet) for the page at ``query``, with counts
    and the links that toggle each value."""
    selection = Selection.from_query(query, buckets)
    found, total = counts(products, selection, buckets, price_list)
    in_stock = found[IN_STOCK].get("true", 0)

    def values(name, labels: dict[str, str], chosen, limit=None) -> list[FacetValue]:
        counted = found[name]
        keys = [k for k in labels if k in counted or k in chosen]
        if limit is not None:
            keys = sorted(keys, key=lambda k: (k not in chosen, -counted.get(k, 0), k))
            keys = [k for i, k in enumerate(keys) if i < limit or k in chosen]
        return [FacetValue(k, labels[k], counted.get(k, 0), k in chosen, _toggled(query, name, k)) for k in keys]

    listed = [Facet(CATEGORY, buckets.label, values(CATEGORY, {s: n for s, (n, _) in buckets.slugs.items()},
                                                    selection.categories)),
              Facet(PRICE, "Price", values(PRICE, {key: band_label(*band) for key, band in BANDS.items()},
                                           selection.prices)),
              Facet(IN_STOCK, "Availability",
                    [FacetValue("1", "In stock", in_stock, selection.in_stock,
                                _without(query, IN_STOCK) if selection.in_stock else _toggled(query, IN_STOCK, "1"))]
                    if in_stock or selection.in_stock else [])]
    for key, label in ATTRIBUTES:
        chosen = selection.attributes.get(key, ())
        listed.append(Facet(key, label, values(key, {v: v for v in [*found[key], *chosen]}, chosen, MAX_VALUES)))
    return Facets([facet for facet in listed if facet.values], total, selection, _without(query, *PARAMETERS),
                  [(name, value) for name in PARAMETERS for value in query.getlist(name)])


def _without(query: QueryDict, *names: str) -> str:
    query = query.copy()
    for name in (*names, "page"):
        query.pop(name, None)
    return "?" + query.urlencode()
