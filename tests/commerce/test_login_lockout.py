"""Login throttling (django-axes): after too many wrong passwords for an account, or from an address, even
the right password is refused, at the shop's login and the Wagtail admin's, with a page that says why."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.management import call_command

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # what UserFactory sets
LIMIT = 5
SHOP_LOGIN = "/account/login/"
ADMIN_LOGIN = "/admin/login/"


@pytest.fixture(autouse=True)
def throttled(settings):
    """django-axes on (tests/settings.py turns it off for the test client's login()), at a known limit."""
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = LIMIT


def log_in(client, url, username, password, address="192.0.2.10", **headers):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address, **headers)


def logged_in(client) -> bool:
    return SESSION_KEY in client.session


def test_the_right_password_is_refused_at_the_shop_after_too_many_wrong_ones(client):
    shopper = UserFactory()
    for _ in range(LIMIT):
        log_in(client, SHOP_LOGIN, shopper.username, "wrong-guess")

    response = log_in(client, SHOP_LOGIN, shopper.username, PASSWORD)

    assert response.status_code == 429
    assert "Too many attempts to log in" in response.text
    assert "Please try again in 15 minutes." in response.text
    assert 'href="/account/login/"' in response.text  # the shop's page, with its way back
    assert "site-header" in response.text
    assert not logged_in(client)


def test_a_few_wrong_passwords_do_not_lock_the_shopper_out(client):
    shopper = UserFactory()
    for _ in range(LIMIT - 1):
        log_in(client, SHOP_LOGIN, shopper.username, "wrong-guess")

    response = log_in(client, SHOP_LOGIN, shopper.username, PASSWORD)

    assert response.status_code == 302
    assert logged_in(client)


def test_the_right_password_is_refused_at_the_wagtail_admin_after_too_many_wrong_ones(client):
    editor = UserFactory(username="editor", is_staff=True, is_superuser=True)
    for _ in range(LIMIT):
        response = log_in(client, ADMIN_LOGIN, editor.username, "wrong-guess")

    response = log_in(client, ADMIN_LOGIN, editor.username, PASSWORD)

    assert response.status_code == 429
    assert "Too many attempts to log in" in response.text
    assert 'href="/admin/login/"' in response.text
    assert not logged_in(client)
    assert client.get("/admin/").status_code == 302  # still sent to the login page


def test_one_accounts_lockout_leaves_another_account_at_another_address_alone(client):
    locked, other = UserFactory(), UserFactory()
    for _ in range(LIMIT):
        log_in(client, SHOP_LOGIN, locked.username, "wrong-guess", address="192.0.2.10")
    assert log_in(client, SHOP_LOGIN, locked.username, PASSWORD, address="198.51.100.20").status_code == 429

    response = log_in(client, SHOP_LOGIN, other.username, PASSWORD, address="198.51.100.20")

    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(other.pk)


def test_an_address_that_guessed_too_often_is_refused_even_for_an_untouched_account(client):
    guessed = [UserFactory() for _ in range(LIMIT)]
    untouched = UserFactory()
    for user in guessed:  # one wrong password each: no account reaches the limit, the address does
        log_in(client, SHOP_LOGIN, user.username, "wrong-guess", address="192.0.2.66")

    refused = log_in(client, SHOP_LOGIN, untouched.username, PASSWORD, address="192.0.2.66")
    elsewhere = log_in(client, SHOP_LOGIN, untouched.username, PASSWORD, address="198.51.100.20")

    assert refused.status_code == 429
    assert elsewhere.status_code == 302


def test_behind_a_proxy_each_shopper_is_counted_at_their_own_address_whatever_they_forge(client, settings):
    settings.PROXY_COUNT = 1  # VITRINE_PROXY_COUNT=1: the proxy appends the address it was reached from
    guesser, shopper = UserFactory(), UserFactory()
    for n in range(LIMIT):  # a new made-up address in front of the real one each time
        log_in(client, SHOP_LOGIN, f"nobody{n}@example.com", "wrong-guess", address="10.0.0.2",
               HTTP_X_FORWARDED_FOR=f"203.0.113.{n}, 192.0.2.66")

    guessing_on = log_in(client, SHOP_LOGIN, guesser.username, PASSWORD, address="10.0.0.2",
                         HTTP_X_FORWARDED_FOR="203.0.113.99, 192.0.2.66")
    through_the_same_proxy = log_in(client, SHOP_LOGIN, shopper.username, PASSWORD, address="10.0.0.2",
                                    HTTP_X_FORWARDED_FOR="198.51.100.20")

    assert guessing_on.status_code == 429
    assert through_the_same_proxy.status_code == 302


def test_an_operator_unlocks_an_account_with_axes_reset_username(client):
    shopper = UserFactory()
    for _ in range(LIMIT):
        log_in(client, SHOP_LOGIN, shopper.username, "wrong-guess", address="192.0.2.10")
    assert log_in(client, SHOP_LOGIN, shopper.username, PASSWORD, address="198.51.100.20").status_code == 429

    call_command("axes_reset_username", shopper.username)

    assert log_in(client, SHOP_LOGIN, shopper.username, PASSWORD, address="198.51.100.20").status_code == 302
