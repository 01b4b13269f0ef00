import uuid

import pytest
from django.test import Client

from commerce.events import services
from commerce.events.models import CustomerEvent
from commerce.orders.models import Return
from commerce.orders.services import Shopper, add_to_cart, place_order, request_return, set_line_quantity
from tests.factories import CustomerFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

ADDRESS = {"full_name": "Sam", "line1": "1 High St", "line2": "", "city": "Bath", "postcode": "BA1 1AA",
           "country": "GB"}


def stored_types(**filters) -> list[str]:
    services.drain_events()
    return list(CustomerEvent.objects.filter(**filters).order_by("created_at").values_list("event_type", flat=True))


def test_cart_checkout_and_return_are_recorded(django_capture_on_commit_callbacks):
    customer, product = CustomerFactory(), ProductFactory(stock=5)
    shopper = Shopper(customer, uuid.uuid4())
    with django_capture_on_commit_callbacks(execute=True):
        line = add_to_cart(shopper, product, quantity=3)
    with django_capture_on_commit_callbacks(execute=True):
        set_line_quantity(shopper, line.pk, 2)
    with django_capture_on_commit_callbacks(execute=True):
        order = place_order(shopper, email="a@example.com", address=ADDRESS)
    with django_capture_on_commit_callbacks(execute=True):
        request_return(order.lines.get(), quantity=1, reason=Return.Reason.DAMAGED)

    assert stored_types(customer=customer) == ["add_to_cart", "remove_from_cart", "purchase", "return"]
    purchase = CustomerEvent.objects.get(event_type="purchase")
    assert (purchase.quantity, purchase.price, purchase.product_id) == (2, product.price, product.pk)


def test_product_page_view_is_recorded_for_an_anonymous_visitor():
    product = ProductFactory()
    client = Client()
    response = client.get(product.get_absolute_url())

    assert stored_types(anonymous_id=response.wsgi_request.visitor_id) == ["view"]
    assert CustomerEvent.objects.get().surface == "product_page"


def test_history_is_one_query_across_login():
    user, product = UserFactory(), ProductFactory()
    client = Client()
    client.get(product.get_absolute_url())  # anonymous, drained before login
    services.drain_events()
    client.get(product.get_absolute_url())  # anonymous, still queued at login
    client.post("/account/login/", {"username": user.username, "password": "correct-horse-battery"})
    client.get(product.get_absolute_url())  # logged in

    assert stored_types(customer__user=user) == ["view", "view", "view"]
