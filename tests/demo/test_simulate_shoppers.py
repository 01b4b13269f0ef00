from collections import Counter
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from commerce.catalogue.models import Product
from commerce.customers.models import Customer
from commerce.events import partitions, queries
from commerce.events.models import CustomerEvent, EventType, VisitorLink
from commerce.orders.models import LineItem, Order, Return
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

SEED = 7  # a seed whose 30-customer fortnight includes returns (~5 % of ~20 purchased lines)


@pytest.fixture
def catalogue():
    """6 categories × 10 products at varied prices."""
    categories = [CategoryFactory() for _ in range(6)]
    for category in categories:
        for n in range(10):
            ProductFactory(category=category, base_price=f"{5 + 7 * n + categories.index(category)}.50")
    return categories


def simulate(*extra) -> str:
    out = StringIO()
    call_command("simulate_shoppers", "--customers", "30", "--days", "14", "--seed", str(SEED), *extra,
                 verbosity=0, stdout=out)
    return out.getvalue()


def simulated_events():
    return CustomerEvent.objects.filter(session_id__startswith=f"sim{SEED}-")


def test_creates_customers_events_of_every_funnel_type_and_matching_orders(catalogue):
    output = simulate()

    assert Order.objects.filter(customer__user__username__startswith=f"simulated-{SEED}-").exists()
    customers = Customer.objects.filter(user__username__startswith=f"simulated-{SEED}-")
    assert customers.count() == 30
    assert all(c.addresses.filter(is_default=True).exists() for c in customers)
    assert not customers.first().user.has_usable_password()

    counts = Counter(simulated_events().values_list("event_type", flat=True))
    for event_type in (EventType.VIEW, EventType.ADD_TO_CART, EventType.REMOVE_FROM_CART, EventType.PURCHASE,
                       EventType.RETURN):
        assert counts[event_type] > 0, counts
    assert counts[EventType.VIEW] > counts[EventType.ADD_TO_CART] > counts[EventType.PURCHASE]
    assert 0.06 <= counts[EventType.ADD_TO_CART] / counts[EventType.VIEW] <= 0.14
    assert "Events:" in output and "Orders:" in output

    # One line item per purchase event, same customer, product, quantity and time.
    purchases = Counter(simulated_events().filter(event_type=EventType.PURCHASE)
                        .values_list("customer_id", "product_id", "quantity", "created_at"))
    lines = Counter(LineItem.objects.values_list("order__customer_id", "product_id", "quantity",
                                                 "order__created_at"))
    assert purchases == lines
    for order in Order.objects.prefetch_related("lines"):
        assert order.total == sum(line.line_total for line in order.lines.all())
        assert order.lines.exists()

    assert set(Product.objects.values_list("stock", flat=True)) == {10}  # history: stock is left alone

    returns = Return.objects.aggregate(n=Sum("quantity"))["n"]
    assert 0 < Return.objects.count() == counts[EventType.RETURN] <= counts[EventType.PURCHASE]
    assert returns <= LineItem.objects.aggregate(n=Sum("quantity"))["n"]
    for ret in Return.objects.select_related("line__order"):
        assert ret.created_at > ret.line.order.created_at
        assert ret.quantity <= ret.line.quantity


def test_every_purchase_follows_an_add_to_cart_and_nothing_happens_in_the_future(catalogue):
    simulate()
    events = list(simulated_events().order_by("created_at").values_list(
        "customer_id", "product_id", "event_type", "created_at"))
    assert max(e[3] for e in events) <= timezone.now()
    added = set()
    for customer_id, product_id, event_type, _ in events:
        if event_type == EventType.ADD_TO_CART:
            added.add((customer_id, product_id))
        elif event_type == EventType.PURCHASE:
            assert customer_id is not None
            assert (customer_id, product_id) in added


def test_customers_have_concentrated_tastes(catalogue):
    simulate()
    shares = []
    customer_ids = set(simulated_events().exclude(customer_id=None).values_list("customer_id", flat=True))
    for customer_id in customer_ids:
        weights = [w for _, w in queries.preferred_categories(customer_id, limit=6)]
        if weights:
            shares.append(weights[0] / sum(weights))
    assert len(shares) >= 20
    assert sum(shares) / len(shares) > 2 / 6  # uniform interest over 6 categories would be 1/6

    # Zipf-like popularity: the most viewed product of the shop is viewed far more than the median one.
    views = sorted(Counter(simulated_events().filter(event_type=EventType.VIEW)
                           .values_list("product_id", flat=True)).values())
    assert views[-1] >= 3 * views[len(views) // 2]


def test_anonymous_sessions_are_linked_to_their_customer_and_some_visitors_stay_anonymous(catalogue):
    simulate()
    links = dict(VisitorLink.objects.values_list("visitor_id", "customer_id"))
    assert links
    linked = simulated_events().filter(anonymous_id__in=links)
    assert linked.exists()
    for visitor_id, customer_id in linked.values_list("anonymous_id", "customer_id").distinct():
        assert customer_id == links[visitor_id]
    anonymous = simulated_events().filter(customer_id=None)
    assert anonymous.exists()
    assert not anonymous.filter(anonymous_id__in=links).exists()
    assert not anonymous.filter(event_type=EventType.PURCHASE).exists()


def test_same_seed_same_history_and_reruns_are_idempotent(catalogue):
    simulate()
    first = (simulated_events().count(), sorted(Order.objects.values_list("total", flat=True)),
             sorted(Order.objects.values_list("number", flat=True)))

    output = simulate()  # a rerun reuses the customers and adds nothing twice
    assert "30 reused" in output and "Left alone" in output
    assert (simulated_events().count(), sorted(Order.objects.values_list("total", flat=True))) == first[:2]

    simulate("--replace")  # regenerated from scratch: the same history again
    again = (simulated_events().count(), sorted(Order.objects.values_list("total", flat=True)),
             sorted(Order.objects.values_list("number", flat=True)))
    assert again == first


def test_old_events_get_their_own_monthly_partitions(catalogue):
    call_command("simulate_shoppers", "--customers", "5", "--days", "120", verbosity=0, stdout=StringIO())
    assert CustomerEvent.objects.exists()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {partitions.DEFAULT_PARTITION}")
        assert cursor.fetchone()[0] == 0


def test_an_empty_catalogue_is_a_clear_error():
    with pytest.raises(CommandError, match="seed_demo"):
        simulate()
