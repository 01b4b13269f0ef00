"""The time-window queries over behavioural events that the AI apps read: demand for pricing, interaction
totals for training, preferred categories and popularity for ranking and recommendations, recently viewed
products, and experiment exposures. The AI calls these functions; no other app names the events table.

Every query bounds created_at with literal timestamps, so PostgreSQL prunes to the partitions of the
window at plan time, and filters on the (product|customer, event_type, created_at) indexes.
"""

import datetime as dt

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from commerce.catalogue.models import Category, Product
from commerce.events.models import CustomerEvent, VisitorLink


def _rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def event_weights() -> dict[str, float]:
    return settings.VITRINE_EVENT_WEIGHTS


def product_demand_query(now: dt.datetime) -> tuple[str, list]:
    """Each product's store-wide demand in one scan of the last 8 days (pricing's demand signals).

    Columns: product_id, views in the last 24 h, add-to-carts in the last 24 h, units bought in the
    last 24 h, and the daily average of units bought in the 7 days before that.
    """
    day_ago, week_before = now - dt.timedelta(days=1), now - dt.timedelta(days=8)
    return (
        """SELECT product_id,
                  count(*) FILTER (WHERE event_type = 'view'),
                  count(*) FILTER (WHERE event_type = 'add_to_cart'),
                  coalesce(sum(quantity) FILTER (WHERE event_type = 'purchase' AND created_at >= %s), 0),
                  coalesce(sum(quantity) FILTER (WHERE event_type = 'purchase' AND created_at < %s), 0)::float / 7
           FROM events_customerevent
           WHERE created_at >= %s AND created_at < %s AND product_id IS NOT NULL
             AND (event_type = 'purchase' OR (event_type IN ('view', 'add_to_cart') AND created_at >= %s))
           GROUP BY product_id""",
        [day_ago, day_ago, week_before, now, day_ago],
    )


def daily_product_activity(start: dt.datetime, end: dt.datetime) -> list[tuple[int, int, int, int, int, float | None]]:
    """Each product's days in [start, end) with views, add-to-carts or purchases, ordered by product and day,
    as (product, day, views, add-to-carts, units bought, average price shown): day 0 is the 24 hours from
    ``start``; the price is the views' average, else the purchases' (None when neither carried one).
    The shop's daily demand history (pricing's demand model trains on it)."""
    return _rows(
        f"""SELECT product_id, floor(extract(epoch FROM created_at - %s) / 86400)::int AS day,
                   count(*) FILTER (WHERE event_type = 'view'),
                   count(*) FILTER (WHERE event_type = 'add_to_cart'),
                   coalesce(sum(quantity) FILTER (WHERE event_type = 'purchase'), 0),
                   coalesce(avg(price) FILTER (WHERE event_type = 'view'),
                            avg(price) FILTER (WHERE event_type = 'purchase'))::float
            FROM {CustomerEvent._meta.db_table}
            WHERE created_at >= %s AND created_at < %s AND product_id IS NOT NULL
              AND event_type IN ('view', 'add_to_cart', 'purchase')
            GROUP BY 1, 2 ORDER BY 1, 2""",
        [start, start, end],
    )


def preferred_categories_query(customer_id: int, now: dt.datetime, half_life_days: float,
                               window_days: int) -> tuple[str, list]:
    weights = event_weights()
    cases = " ".join(f"WHEN '{event}' THEN {float(weight)}" for event, weight in weights.items())
    return (
        f"""SELECT p.category_id,
                   sum((CASE e.event_type {cases} ELSE 0 END)
                       * power(0.5, extract(epoch FROM (%s - e.created_at))::float / 86400.0 / %s))::float AS weight
            FROM events_customerevent e JOIN {Product._meta.db_table} p ON p.id = e.product_id
            WHERE e.customer_id = %s AND e.event_type IN ({", ".join(f"'{e}'" for e in weights)})
              AND e.created_at >= %s AND e.created_at < %s
            GROUP BY p.category_id HAVING sum(CASE e.event_type {cases} ELSE 0 END) > 0
            ORDER BY weight DESC""",
        [now, half_life_days, customer_id, now - dt.timedelta(days=window_days), now],
    )


def preferred_categories(customer_id: int, *, now: dt.datetime | None = None, half_life_days: float = 14,
                         window_days: int = 90, limit: int = 5) -> list[tuple[int, float]]:
    """The customer's categories by time-decayed, event-weighted interest (weight halves every
    ``half_life_days``), strongest first."""
    rows = _rows(*preferred_categories_query(customer_id, now or timezone.now(), half_life_days, window_days))
    return [(category_id, weight) for category_id, weight in rows[:limit] if weight > 0]


VIEWED_ORDER = {"recent": "max(created_at) DESC", "most": "count(*) DESC, max(created_at) DESC"}


def recently_viewed_query(now: dt.datetime, customer_id: int | None, visitor_id, days: int,
                          limit: int, *, order: str = "recent") -> tuple[str, list]:
    """The products a shopper viewed in ``days``, each once: most ``recent`` first, or ``most`` viewed."""
    who, whom = ("customer_id", customer_id) if customer_id else ("anonymous_id", visitor_id)
    return (
        f"""SELECT product_id FROM events_customerevent
            WHERE {who} = %s AND event_type = 'view' AND created_at >= %s AND created_at < %s
              AND product_id IS NOT NULL
            GROUP BY product_id ORDER BY {VIEWED_ORDER[order]} LIMIT %s""",
        [whom, now - dt.timedelta(days=days), now, limit],
    )


def recently_viewed(*, customer_id: int | None = None, visitor_id=None, now: dt.datetime | None = None,
                    days: int = 30, limit: int = 12, order: str = "recent") -> list[int]:
    """Products the customer (else the anonymous visitor) viewed, most recent (or most viewed) first,
    each once."""
    if not customer_id and not visitor_id:
        return []
    return [row[0] for row in _rows(*recently_viewed_query(now or timezone.now(), customer_id, visitor_id,
                                                            days, limit, order=order))]


def most_viewed_product(*, customer_id: int | None = None, visitor_id=None, now: dt.datetime | None = None,
                        days: int = 30) -> int | None:
    """The product the customer (else the anonymous visitor) viewed most often, latest view breaking ties."""
    found = recently_viewed(customer_id=customer_id, visitor_id=visitor_id, now=now, days=days, limit=1,
                            order="most")
    return found[0] if found else None


def popular_products_query(now: dt.datetime, category_ids: list[int] | None, days: int,
                           limit: int) -> tuple[str, list]:
    weights = event_weights()
    cases = " ".join(f"WHEN '{event}' THEN {float(weight)}" for event, weight in weights.items() if weight > 0)
    category_filter = "AND p.category_id = ANY(%s)" if category_ids else ""
    params = [now - dt.timedelta(days=days), now] + ([category_ids] if category_ids else []) + [limit]
    return (
        f"""SELECT e.product_id FROM events_customerevent e JOIN {Product._meta.db_table} p ON p.id = e.product_id
            WHERE e.event_type IN ('view', 'add_to_cart', 'purchase') AND e.created_at >= %s AND e.created_at < %s
              AND p.active {category_filter}
            GROUP BY e.product_id
            ORDER BY sum(CASE e.event_type {cases} ELSE 0 END) DESC, e.product_id LIMIT %s""",
        params,
    )


def popular_products(*, category_id: int | None = None, days: int = 7, limit: int = 20) -> list[int]:
    """Most-engaged-with active products of the last ``days`` (in a category and below it), cached 10 min."""
    key = f"events:popular:{category_id or 'all'}:{days}:{limit}"
    ids = cache.get(key)
    if ids is None:
        category_ids = Category.objects.get(pk=category_id).descendant_ids() if category_id else None
        ids = [row[0] for row in _rows(*popular_products_query(timezone.now(), category_ids, days, limit))]
        cache.set(key, ids, 600)
    return ids


# Engagement a day every product is assumed to have, added to both rates: a product with no history
# that gets one view is not "rising fast", and a steady best seller sits near 1.
TRENDING_PRIOR_PER_DAY = 2.0
# Weighted engagement a product needs in the recent window before it can trend at all.
TRENDING_MIN_RECENT = 5.0


def trending_products_query(now: dt.datetime, category_ids: list[int] | None, recent_days: int,
                            baseline_days: int, limit: int) -> tuple[str, list]:
    weights = event_weights()
    cases = " ".join(f"WHEN '{event}' THEN {float(weight)}" for event, weight in weights.items() if weight > 0)
    recent_start = now - dt.timedelta(days=recent_days)
    category_filter = "AND p.category_id = ANY(%s)" if category_ids else ""
    return (
        f"""SELECT product_id FROM (
                SELECT e.product_id,
                       sum(CASE e.event_type {cases} ELSE 0 END) FILTER (WHERE e.created_at >= %s) AS recent,
                       coalesce(sum(CASE e.event_type {cases} ELSE 0 END) FILTER (WHERE e.created_at < %s), 0)
                           AS baseline
                FROM {CustomerEvent._meta.db_table} e JOIN {Product._meta.db_table} p ON p.id = e.product_id
                WHERE e.event_type IN ('view', 'add_to_cart', 'purchase') AND e.created_at >= %s
                  AND e.created_at < %s AND p.active {category_filter}
                GROUP BY e.product_id) rates
            WHERE recent >= %s
              AND recent / %s + %s > baseline / %s + %s
            ORDER BY (recent / %s + %s) / (baseline / %s + %s) DESC, recent DESC, product_id LIMIT %s""",
        [recent_start, recent_start, recent_start - dt.timedelta(days=baseline_days), now]
        + ([category_ids] if category_ids else [])
        + [TRENDING_MIN_RECENT] + [recent_days, TRENDING_PRIOR_PER_DAY, baseline_days, TRENDING_PRIOR_PER_DAY] * 2
        + [limit],
    )


def trending_products(*, category_id: int | None = None, recent_days: int = 2, baseline_days: int = 28,
                      limit: int = 20) -> list[int]:
    """Active products whose engagement of the last ``recent_days`` runs ahead of their own daily rate
    over the ``baseline_days`` before (both smoothed by ``TRENDING_PRIOR_PER_DAY``), fastest rising
    first; only products with ``TRENDING_MIN_RECENT`` recent engagement. In a category and below it;
    cached 10 min."""
    key = f"events:trending:{category_id or 'all'}:{recent_days}:{baseline_days}:{limit}"
    ids = cache.get(key)
    if ids is None:
        category_ids = Category.objects.get(pk=category_id).descendant_ids() if category_id else None
        ids = [row[0] for row in _rows(*trending_products_query(timezone.now(), category_ids, recent_days,
                                                                baseline_days, limit))]
        cache.set(key, ids, 600)
    return ids


# Customers' product events that say something about their taste (what recommendations learn from).
INTERACTION_EVENTS = ("view", "add_to_cart", "purchase", "return")


def interaction_totals(weights: dict[str, float], since: dt.datetime, until: dt.datetime,
                       customer_id: int | None = None) -> list[tuple[int, int, float, bool]]:
    """(customer, product, summed weight, bought) per pair with events of the ``weights``' types in
    [since, until), of every customer or of one; "bought" counts a purchase or a return. One pass
    over the window's partitions."""
    return _rows(*interaction_totals_query(weights, since, until, customer_id))


def interaction_totals_query(weights: dict[str, float], since: dt.datetime, until: dt.datetime,
                             customer_id: int | None = None) -> tuple[str, list]:
    """``interaction_totals``' statement and parameters, for a caller that reads it another way (training
    reads a million rows as a binary COPY); no column is ever NULL."""
    cases = " ".join(f"WHEN '{event}' THEN {float(weight)}" for event, weight in weights.items())
    who = "customer_id = %s" if customer_id else "customer_id IS NOT NULL"
    return (
        f"""SELECT customer_id, product_id, sum(CASE event_type {cases} END)::float4,
                   bool_or(event_type IN ('purchase', 'return'))
            FROM {CustomerEvent._meta.db_table}
            WHERE {who} AND product_id IS NOT NULL AND event_type = ANY(%s)
              AND created_at >= %s AND created_at < %s
            GROUP BY customer_id, product_id""",
        ([customer_id] if customer_id else []) + [list(weights), since, until],
    )


def interaction_log(since: dt.datetime) -> QuerySet:
    """Customers' product events of the ``INTERACTION_EVENTS`` types since ``since``, oldest first, as
    (customer, product, created_at, event type, quantity, price) tuples."""
    return (CustomerEvent.objects.filter(customer__isnull=False, product__isnull=False,
                                         event_type__in=INTERACTION_EVENTS, created_at__gte=since)
            .order_by("created_at")
            .values_list("customer_id", "product_id", "created_at", "event_type", "quantity", "price"))


# --- experiments ----------------------------------------------------------------------------------
# An experiment's unit is the shopper: the customer when the exposure event knows one, else the
# anonymous visitor id; its variant and exposure time are those of its first exposure in the window.


def _unit(alias: str = "") -> str:
    """The shopper an event belongs to, as experiments count them: 'c<customer id>', else 'v<visitor id>'."""
    return f"coalesce('c' || {alias}customer_id::text, 'v' || {alias}anonymous_id::text)"


def first_exposures_query(experiment_key: str, since: dt.datetime, until: dt.datetime) -> tuple[str, list]:
    """Each shopper's first exposure to the experiment in [since, until).

    Columns: unit ('c<customer id>' or 'v<visitor id>'), customer_id, anonymous_id, variant, exposed_at.
    """
    return (
        f"""SELECT DISTINCT ON (unit) unit, customer_id, anonymous_id, variant, exposed_at
            FROM (SELECT {_unit()} AS unit, customer_id,
                         anonymous_id, experiments ->> %s AS variant, created_at AS exposed_at
                  FROM {CustomerEvent._meta.db_table}
                  WHERE event_type = 'experiment_exposure' AND experiments ? %s
                    AND created_at >= %s AND created_at < %s
                    AND (customer_id IS NOT NULL OR anonymous_id IS NOT NULL)) AS e
            ORDER BY unit, exposed_at""",
        [experiment_key, experiment_key, since, until],
    )


def exposed_per_variant(experiment_key: str, *, since: dt.datetime, until: dt.datetime) -> dict[str, int]:
    """{variant: shoppers first exposed to it in [since, until)}: the units an experiment's metrics count."""
    sql, params = first_exposures_query(experiment_key, since, until)
    return dict(_rows(f"SELECT variant, count(*) FROM ({sql}) AS exposed GROUP BY variant", params))


def visitor_links_query() -> tuple[str, list]:
    """The anonymous visitor ids known to belong to customers (linked at login). Columns: customer_id,
    visitor_id."""
    return f"SELECT customer_id, visitor_id FROM {VisitorLink._meta.db_table}", []


def recommendation_engagement_per_variant(experiment_key: str, *, since: dt.datetime, until: dt.datetime,
                                          time_zone: str, before_days: int
                                          ) -> list[tuple[str, dt.date, int, int, float, float, float]]:
    """(variant, day, impressions, clicks, Σ impressions × x, Σ impressions × x², Σ clicks × x) of the
    recommendation events tagged with the experiment in [since, until), per variant and calendar day in
    ``time_zone``: its click-through, with each impression's covariate x, its shopper's recommendation clicks
    (tagged or not) in the ``before_days`` before they first met the experiment (their first event tagged
    with it: the exposure, else an impression or click). A shopper is the customer, else the anonymous
    visitor, as in ``first_exposures_query``."""
    return _rows(
        f"""WITH tagged AS (
                SELECT {_unit()} AS unit, experiments ->> %s AS variant, event_type, created_at
                FROM {CustomerEvent._meta.db_table}
                WHERE event_type IN ('recommendation_impression', 'recommendation_click', 'experiment_exposure')
                  AND experiments ? %s AND created_at >= %s AND created_at < %s),
            met AS (SELECT unit, min(created_at) AS met_at FROM tagged WHERE unit IS NOT NULL GROUP BY unit),
            before AS (
                SELECT m.unit, count(*)::float AS clicks
                FROM met m JOIN {CustomerEvent._meta.db_table} h ON {_unit("h.")} = m.unit
                WHERE h.event_type = 'recommendation_click' AND h.created_at >= %s AND h.created_at < %s
                  AND h.created_at >= m.met_at - make_interval(days => %s) AND h.created_at < m.met_at
                GROUP BY m.unit),
            engaged AS (
                SELECT unit, variant, (created_at AT TIME ZONE %s)::date AS day,
                       count(*) FILTER (WHERE event_type = 'recommendation_impression') AS impressions,
                       count(*) FILTER (WHERE event_type = 'recommendation_click') AS clicks
                FROM tagged WHERE event_type <> 'experiment_exposure' GROUP BY 1, 2, 3)
            SELECT e.variant, e.day, sum(e.impressions)::int, sum(e.clicks)::int,
                   sum(e.impressions * coalesce(b.clicks, 0)), sum(e.impressions * coalesce(b.clicks, 0) ^ 2),
                   sum(e.clicks * coalesce(b.clicks, 0))
            FROM engaged e LEFT JOIN before b ON b.unit = e.unit
            GROUP BY 1, 2""",
        [experiment_key, experiment_key, since, until, since - dt.timedelta(days=before_days), until, before_days,
         time_zone],
    )
