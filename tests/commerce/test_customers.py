import pytest
from django.test import Client

from commerce.customers.models import Address, Customer
from commerce.customers.services import VISITOR_COOKIE
from commerce.customers.signals import visitor_identified
from commerce.orders.models import Cart
from tests.factories import AddressFactory, CustomerFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_new_visitor_gets_a_signed_id_cookie_that_is_kept():
    client = Client()
    first = client.get("/cart/")
    cookie = first.cookies[VISITOR_COOKIE]
    assert cookie["httponly"] and cookie["max-age"] == 365 * 24 * 3600

    second = client.get("/cart/")
    assert VISITOR_COOKIE not in second.cookies  # unchanged, not re-sent


def test_a_tampered_visitor_cookie_is_replaced():
    client = Client()
    client.cookies[VISITOR_COOKIE] = "00000000-0000-0000-0000-000000000000:forged"
    response = client.get("/cart/")
    assert response.cookies[VISITOR_COOKIE].value != "00000000-0000-0000-0000-000000000000:forged"


def test_login_hands_the_visitor_cart_to_the_customer_and_identifies_the_visitor():
    user = UserFactory()
    product = ProductFactory(stock=4)
    client = Client()
    client.post("/cart/add/", {"product": product.pk, "quantity": 2})
    visitor_cart = Cart.objects.get()
    identified = []
    visitor_identified.connect(lambda **kw: identified.append(kw["visitor_id"]), weak=False, dispatch_uid="t")
    try:
        response = client.post("/account/login/", {"username": user.username, "password": "correct-horse-battery"})
    finally:
        visitor_identified.disconnect(dispatch_uid="t")

    assert response.status_code == 302
    customer = Customer.objects.get(user=user)
    assert dict(customer.cart.lines.values_list("product_id", "quantity")) == {product.pk: 2}
    assert identified == [visitor_cart.visitor_id]
    assert not Cart.objects.filter(visitor_id=visitor_cart.visitor_id).exists()


def test_logout_issues_a_new_visitor_id():
    user = UserFactory()
    client = Client()
    client.force_login(user)
    before = client.get("/cart/").wsgi_request.visitor_id
    response = client.post("/account/logout/")
    assert response.cookies[VISITOR_COOKIE].value
    after = client.get("/cart/").wsgi_request.visitor_id
    assert after != before


def test_only_one_default_address_per_customer():
    address = AddressFactory()
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        AddressFactory(customer=address.customer, is_default=True)
    AddressFactory(customer=address.customer, is_default=False)
    assert Address.objects.filter(customer=address.customer).count() == 2


def test_customer_is_created_on_first_need():
    customer = CustomerFactory()
    client = Client()
    client.force_login(customer.user)
    assert client.get("/account/").status_code == 200
    other = UserFactory()
    client.force_login(other)
    assert client.get("/account/").status_code == 200
    assert Customer.objects.filter(user=other).exists()
