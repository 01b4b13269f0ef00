"""Search analytics for merchandisers: what shoppers look for, what finds nothing, what gets clicked."""

import datetime as dt

from django.db.models import Count, Q
from django.utils import timezone

from ai.search.models import SearchQuery


def search_report(*, days: int = 30, limit: int = 25) -> dict:
    since = timezone.now() - dt.timedelta(days=days)
    recent = SearchQuery.objects.filter(created_at__gte=since)
    totals = recent.aggregate(
        searches=Count("pk"), zero=Count("pk", filter=Q(result_count=0)),
        clicked=Count("pk", filter=Q(clicked_product__isnull=False)), converted=Count("pk", filter=Q(converted=True)),
    )
    grouped = recent.values("normalized").annotate(
        searches=Count("pk"), clicks=Count("pk", filter=Q(clicked_product__isnull=False)),
        conversions=Count("pk", filter=Q(converted=True)), zero=Count("pk", filter=Q(result_count=0)),
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
