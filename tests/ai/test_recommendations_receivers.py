"""The shop's signals queue recommendation refreshes on the realtime queue, read back from the real broker."""

import uuid

import pytest

from ai.recommendations import serving, tasks
from commerce.orders.models import Order
from commerce.orders.services import Shopper, add_to_cart, set_line_quantity
from commerce.orders.signals import order_placed
from tests.broker import queued_tasks
from tests.factories import CustomerFactory, ProductFactory, placed_order

pytestmark = pytest.mark.django_db


def refreshes_queued() -> list[tuple]:
    return [(message["task"], message["args"], message["eta"]) for message in queued_tasks("realtime")]


def test_a_visitors_add_to_cart_queues_a_refresh_of_their_list_at_once(django_capture_on_commit_callbacks):
    visitor = uuid.uuid4()

    with django_capture_on_commit_callbacks(execute=True):
        add_to_cart(Shopper(None, visitor), ProductFactory())

    assert refreshes_queued() == [(tasks.refresh_visitor_recommendations.name, [str(visitor), None], None)]


def test_a_customers_add_to_cart_queues_a_refresh_of_their_own_list_and_of_their_session_list(
        django_capture_on_commit_callbacks):
    customer, visitor = CustomerFactory(), uuid.uuid4()

    with django_capture_on_commit_callbacks(execute=True):
        add_to_cart(Shopper(customer, visitor), ProductFactory())

    # the session list is what they are served while they have no list of their own
    assert sorted(refreshes_queued()) == [
        (tasks.refresh_customer_recommendations.name, [customer.pk], None),
        (tasks.refresh_visitor_recommendations.name, [str(visitor), customer.pk], None)]


def test_taking_a_product_out_of_the_cart_queues_no_refresh(django_capture_on_commit_callbacks):
    # given a visitor's cart line (its own signal never sent: the test's transaction does not commit)
    shopper = Shopper(None, uuid.uuid4())
    line = add_to_cart(shopper, ProductFactory())

    # when they remove it
    with django_capture_on_commit_callbacks(execute=True):
        set_line_quantity(shopper, line.pk, 0)

    # then nothing is refreshed
    assert refreshes_queued() == []


def test_every_cart_change_and_order_gives_the_shoppers_lists_a_new_version(django_capture_on_commit_callbacks):
    # given a signed-in shopper's versions
    customer, visitor = CustomerFactory(), uuid.uuid4()
    shopper = Shopper(customer, visitor)
    versions = [serving.shopper_list_version(customer.pk, visitor)]
    # when they add, take out, and order
    with django_capture_on_commit_callbacks(execute=True):
        line = add_to_cart(shopper, ProductFactory())
    versions.append(serving.shopper_list_version(customer.pk, visitor))
    with django_capture_on_commit_callbacks(execute=True):
        set_line_quantity(shopper, line.pk, 0)
    versions.append(serving.shopper_list_version(customer.pk, visitor))
    order = placed_order(ProductFactory(), customer=customer)
    with django_capture_on_commit_callbacks(execute=True):
        order_placed.send(sender=Order, order=order)  # as place_order sends it, after its commit
    versions.append(serving.shopper_list_version(customer.pk, visitor))
    # then each step retired the fragments keyed by the one before: both halves change when both are known
    assert len(set(versions)) == 4
    assert all(part != "-" for part in versions[-1].split("."))
