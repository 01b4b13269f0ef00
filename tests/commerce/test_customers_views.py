import pytest

from commerce.customers.models import Address
from tests.factories import AddressFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def test_the_account_page_lists_saved_addresses_with_a_delete_button(client):
    address = AddressFactory(line1="7 Quay Street", country="IE")
    client.force_login(address.customer.user)

    content = client.get("/account/").content.decode()

    assert "7 Quay Street" in content and "Ireland" in content
    assert f'action="/account/addresses/{address.pk}/delete/"' in content


def test_a_customer_deletes_their_saved_address(client):
    address = AddressFactory()
    client.force_login(address.customer.user)

    response = client.post(f"/account/addresses/{address.pk}/delete/", follow=True)

    assert response.redirect_chain[-1][0] == "/account/"
    assert "Address deleted." in response.content.decode()
    assert not Address.objects.exists()


def test_a_customer_cannot_delete_someone_elses_address(client):
    theirs = AddressFactory()
    client.force_login(CustomerFactory().user)

    response = client.post(f"/account/addresses/{theirs.pk}/delete/")

    assert response.status_code == 404
    assert Address.objects.filter(pk=theirs.pk).exists()


def test_deleting_needs_a_post(client):
    address = AddressFactory()
    client.force_login(address.customer.user)

    assert client.get(f"/account/addresses/{address.pk}/delete/").status_code == 405
    assert Address.objects.filter(pk=address.pk).exists()
