import datetime as dt
import uuid

import pytest
from django.db import connection

from commerce.events import partitions, queries, services
from commerce.events.models import CustomerEvent
from tests.factories import CategoryFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def partition_of(event_id: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM events_customerevent WHERE id = %s", [event_id])
        return cursor.fetchone()[0]


def test_migration_created_this_month_and_three_ahead_plus_default():
    names = partitions.existing_partitions()
    this_month = partitions.month_start(dt.datetime.now(dt.UTC))
    for ahead in range(4):
        assert partitions.partition_name(partitions.add_months(this_month, ahead)) in names
    assert partitions.DEFAULT_PARTITION in names


def test_rows_are_routed_by_month_and_strays_land_in_the_default_partition():
    in_month = services.record("view", product_id=1, created_at=dt.datetime.now(dt.UTC))
    stray = services.record("view", product_id=1, created_at=dt.datetime(2019, 3, 5, tzinfo=dt.UTC))
    services.drain_events()

    assert partition_of(in_month) == partitions.partition_name(partitions.month_start(dt.datetime.now(dt.UTC)))
    assert partition_of(stray) == partitions.DEFAULT_PARTITION


def test_creating_a_partition_late_moves_its_rows_out_of_the_default_partition():
    stray = services.record("view", product_id=1, created_at=dt.datetime(2019, 3, 5, tzinfo=dt.UTC))
    services.drain_events()

    created = partitions.ensure_partitions(start=dt.date(2019, 3, 1), months_ahead=3)

    assert "events_customerevent_y2019m03" in created
    assert partition_of(stray) == "events_customerevent_y2019m03"
    assert CustomerEvent.objects.count() == 1


def test_retention_drops_whole_old_partitions_only():
    partitions.ensure_partitions(start=dt.date(2019, 1, 1), months_ahead=3)
    old = services.record("view", product_id=1, created_at=dt.datetime(2019, 1, 10, tzinfo=dt.UTC))
    recent = services.record("view", product_id=1, created_at=dt.datetime.now(dt.UTC))
    services.drain_events()

    dropped = partitions.drop_partitions_older_than(24)

    assert "events_customerevent_y2019m01" in dropped
    assert partitions.DEFAULT_PARTITION not in dropped
    assert list(CustomerEvent.objects.values_list("id", flat=True)) == [uuid.UUID(recent)]
    assert old not in [str(i) for i in CustomerEvent.objects.values_list("id", flat=True)]


def explain(sql: str, params: list) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.fixture
def realistic_event_history():
    """60,000 events over 2025-01 … 2026-11 (500 customers, 2,000 catalogue products), analysed, so the
    planner chooses as it would in production rather than on empty tables."""
    partitions.ensure_partitions(start=dt.date(2025, 1, 1), months_ahead=3)
    category = CategoryFactory()
    with connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO catalogue_product (title, slug, description, attributes, base_price, price, currency, stock,
                                           active, created_at, updated_at, category_id)
            SELECT 'Product ' || n, 'product-' || n, '', '{}', 10, 10, 'GBP', 5, true, now(), now(), %s
            FROM generate_series(1, 2000) AS n""", [category.pk])
        cursor.execute("""
            INSERT INTO events_customerevent (id, created_at, event_type, customer_id, product_id, quantity)
            SELECT gen_random_uuid(),
                   timestamptz '2026-11-20 12:00+00' - (n % 600) * interval '1 day' - (n % 24) * interval '1 hour',
                   (ARRAY['view', 'view', 'view', 'view', 'add_to_cart', 'purchase'])[1 + n % 6],
                   1 + n % 500, first.id + (n * 7) % 2000, 1
            FROM generate_series(1, 60000) AS n, (SELECT min(id) AS id FROM catalogue_product) AS first""")
        cursor.execute("ANALYZE events_customerevent")
        cursor.execute("ANALYZE catalogue_product")


AGGREGATIONS = {
    "product demand": lambda: queries.product_demand_query(NOW),
    "preferred categories": lambda: queries.preferred_categories_query(1, NOW, 14, 90),
    "recently viewed": lambda: queries.recently_viewed_query(NOW, 1, None, 30, 12),
    "popular": lambda: queries.popular_products_query(NOW, [1, 2], 7, 20),
}
# PostgreSQL names each partition's copy of an index <partition>_<columns>_idx, cut at 63 characters.
BY_TYPE, BY_CUSTOMER, BY_PRODUCT = "y2026m11_event_type_created_at_idx", "_customer_id_event_type_creat", \
    "_product_id_event_type_creat"
INDEXES_FOR = {
    "product demand": {BY_TYPE},
    "preferred categories": {BY_CUSTOMER},
    "recently viewed": {BY_CUSTOMER},
    "popular": {BY_TYPE, BY_PRODUCT},  # by product when the category holds few products
}


@pytest.mark.parametrize("name", AGGREGATIONS)
def test_each_aggregation_prunes_to_its_window_and_uses_the_event_indexes(name, realistic_event_history):
    sql, params = AGGREGATIONS[name]()

    plan = explain(sql, params)
    scanned = {p for p in partitions.existing_partitions() if p in plan}
    assert scanned, plan
    assert scanned <= {"events_customerevent_y2026m08", "events_customerevent_y2026m09",
                       "events_customerevent_y2026m10", "events_customerevent_y2026m11",
                       partitions.DEFAULT_PARTITION}, plan
    assert "events_customerevent_y2025m06" not in plan

    assert any(index in plan for index in INDEXES_FOR[name]), plan
