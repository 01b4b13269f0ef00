"""``manage.py demo_credentials``: who can log in to the demo, and ``--reset`` to get back in."""

import re
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command

from demo import accounts
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_chosen_passwords(monkeypatch):
    monkeypatch.delenv("VITRINE_ADMIN_PASSWORD", raising=False)
    monkeypatch.delenv("VITRINE_MERCHANDISER_PASSWORD", raising=False)


@pytest.fixture
def seeded():
    """What seed_demo leaves: the staff accounts and a few demo shoppers, whose passwords were then changed."""
    accounts.ensure_staff()
    accounts.seed_customers(3, seed=1)
    User = get_user_model()
    for user in User.objects.all():
        user.set_password("forgotten-long-ago")
        user.save()
    return User.objects.all()


def credentials(*args: str) -> str:
    out = StringIO()
    call_command("demo_credentials", *args, stdout=out)
    return out.getvalue()


def printed_password(output: str, username: str) -> str:
    match = re.search(rf"^\s*{re.escape(username)}\s+password: (\S+)$", output, re.MULTILINE)
    assert match, output
    return match.group(1)


def test_reset_prints_passwords_that_log_in(seeded):
    output = credentials("--reset")

    assert "Demo passwords reset." in output
    assert "http://testserver/admin/" in output and "http://testserver/account/login/" in output
    for username, _, _ in accounts.STAFF_ACCOUNTS:
        password = printed_password(output, username)
        assert password != "forgotten-long-ago"
        assert authenticate(username=username, password=password) is not None
    assert authenticate(username="admin", password=printed_password(output, "admin")).is_superuser
    shopper = accounts.demo_shoppers().order_by("username").first()
    assert printed_password(output, shopper.username) == accounts.DEMO_PASSWORD
    assert "(and 2 more demo shoppers @demo.example.com, same password)" in output
    for user in accounts.demo_shoppers():
        assert authenticate(username=user.username, password=accounts.DEMO_PASSWORD) == user


def test_reset_uses_the_chosen_passwords_and_reactivates_the_accounts(seeded, monkeypatch):
    monkeypatch.setenv("VITRINE_ADMIN_PASSWORD", "chosen-admin-123")
    get_user_model().objects.filter(username="admin").update(is_active=False, is_superuser=False)

    output = credentials("--reset")

    assert printed_password(output, "admin") == "chosen-admin-123"
    admin = authenticate(username="admin", password="chosen-admin-123")
    assert admin is not None and admin.is_staff and admin.is_superuser


def test_reset_creates_missing_staff_accounts_the_way_seed_demo_does():
    output = credentials("--reset")

    assert "created: admin, merchandiser" in output
    merchandiser = authenticate(username="merchandiser", password=printed_password(output, "merchandiser"))
    assert merchandiser is not None and not merchandiser.is_superuser
    assert merchandiser.groups.filter(name=accounts.MERCHANDISERS).exists()
    assert merchandiser.has_perm("wagtailadmin.access_admin")
    assert "No demo shoppers yet" in output


def test_without_reset_nothing_changes_and_hidden_passwords_say_how_to_get_new_ones(seeded):
    hashes = dict(get_user_model().objects.values_list("username", "password"))

    output = credentials()

    assert dict(get_user_model().objects.values_list("username", "password")) == hashes
    assert re.search(r"^\s*admin\s+password not shown", output, re.MULTILINE)
    assert "password changed since seeding" in output
    assert "demo_credentials --reset" in output


def test_without_reset_shows_the_passwords_still_known(monkeypatch):
    monkeypatch.setenv("VITRINE_MERCHANDISER_PASSWORD", "chosen-merch-456")
    accounts.ensure_staff()
    accounts.seed_customers(1, seed=1)
    UserFactory(username="someone@example.com")  # not a demo shopper

    output = credentials()

    assert printed_password(output, "merchandiser") == "chosen-merch-456"
    shopper = accounts.demo_shoppers().get()
    assert printed_password(output, shopper.username) == accounts.DEMO_PASSWORD
    assert "someone@example.com" not in output


def test_reset_refuses_a_weak_chosen_password_and_changes_no_account(seeded, monkeypatch):
    monkeypatch.setenv("VITRINE_ADMIN_PASSWORD", "admin123")
    monkeypatch.setenv("VITRINE_MERCHANDISER_PASSWORD", "12345678")
    hashes = dict(get_user_model().objects.values_list("username", "password"))

    with pytest.raises(CommandError) as refused:
        credentials("--reset")

    message = str(refused.value)
    assert "VITRINE_ADMIN_PASSWORD: The password is too similar to the username. This password is too common." \
        in message
    assert "VITRINE_MERCHANDISER_PASSWORD: This password is too common. This password is entirely numeric." \
        in message
    assert dict(get_user_model().objects.values_list("username", "password")) == hashes

