"""The demo's people: demo shoppers who can log in, and the staff accounts (admin, merchandiser)."""

from __future__ import annotations

import os
import random
import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils.text import slugify
from wagtail.models import Collection, GroupCollectionPermission, GroupPagePermission

from commerce.customers.models import Address, Customer
from demo.vocabulary import load_people
from home.models import HomePage

DEMO_EMAIL_DOMAIN = "demo.example.com"
DEMO_PASSWORD = "vitrine-demo"
MERCHANDISERS = "Merchandisers"
SHOPPERS = load_people()["demo_shoppers"]


def seed_customers(count: int, seed: int) -> int:
    """``count`` demo shoppers (email as username, password "vitrine-demo"), each with a default address."""
    User = get_user_model()
    rng = random.Random(f"{seed}-customers")
    password = make_password(DEMO_PASSWORD)  # hashed once: the same password for every demo shopper
    created = 0
    names = [(first, last) for first in SHOPPERS.first_names for last in SHOPPERS.last_names]
    for first, last in rng.sample(names, count):
        local = slugify(f"{first}.{last}").replace("-", "")
        email = f"{first.lower()}.{local[len(first):]}@{DEMO_EMAIL_DOMAIN}"
        user, made = User.objects.get_or_create(username=email, defaults={
            "email": email, "first_name": first, "last_name": last, "password": password})
        customer, _ = Customer.objects.get_or_create(
            user=user, defaults={"accepts_marketing": rng.random() < 0.4})
        if made:
            created += 1
        city, prefixes = rng.choice(SHOPPERS.cities)
        letters = SHOPPERS.postcode_letters
        postcode = f"{rng.choice(prefixes)} {rng.randint(1, 9)}{rng.choice(letters)}{rng.choice(letters)}"
        if not customer.addresses.exists():
            Address.objects.create(
                customer=customer, full_name=f"{first} {last}",
                line1=f"{rng.randint(1, 180)} {rng.choice(SHOPPERS.streets)}",
                line2=f"Flat {rng.randint(1, 12)}" if rng.random() < 0.2 else "",
                city=city, postcode=postcode, country="GB", is_default=True,
            )
    return created


@dataclass
class StaffAccount:
    username: str
    password: str | None  # None: the account already existed and its password was left alone
    created: bool


def ensure_admin(password: str | None, *, reset: bool = False) -> StaffAccount:
    """The superuser "admin", created with ``password`` (or a generated one) when missing. An existing
    one keeps its password, unless ``reset``: then it gets that password and is an active superuser again."""
    User = get_user_model()
    user = User.objects.filter(username="admin").first()
    if user is not None and not reset:
        return StaffAccount("admin", None, False)
    password = password or secrets.token_urlsafe(12)
    if user is not None:
        user.set_password(password)
        user.is_active = user.is_staff = user.is_superuser = True
        user.save()
        return StaffAccount("admin", password, False)
    User.objects.create_superuser("admin", "admin@example.com", password, first_name="Vitrine",
                                  last_name="Admin")
    return StaffAccount("admin", password, True)


def ensure_merchandiser(password: str | None, *, reset: bool = False) -> StaffAccount:
    """A "merchandiser" in the Merchandisers group: Wagtail admin, pages, products and categories. Created
    with ``password`` (or a generated one) when missing; an existing one keeps its password unless ``reset``."""
    group, _ = Group.objects.get_or_create(name=MERCHANDISERS)
    perms = Permission.objects.filter(
        content_type__app_label="wagtailadmin", codename="access_admin"
    ) | Permission.objects.filter(
        content_type__app_label="catalogue",
        codename__in=["add_product", "change_product", "view_product", "add_category", "change_category",
                      "view_category"],
    )
    group.permissions.add(*perms)
    # The storefront's AI admin: pricing rules and approvals, the recommendation health panel, the search
    # report, synonyms and query rules, the Storefront AI dashboard and experiments.
    group.permissions.add(*Permission.objects.filter(codename__in=[
        "view_pricingrule", "add_pricingrule", "change_pricingrule", "view_pricechange", "approve_pricechange",
        "view_recommendationmodel", "view_searchquery", "view_dashboard",
        "view_synonym", "add_synonym", "change_synonym", "delete_synonym",
        "view_queryrule", "add_queryrule", "change_queryrule", "delete_queryrule",
        "view_experiment", "add_experiment", "change_experiment", "manage_experiment",
    ], content_type__app_label__in=["pricing", "recommendations", "search", "dashboard", "experiments"]))
    home = HomePage.objects.first()
    if home is not None:
        for codename in ("add_page", "change_page", "publish_page"):
            permission = Permission.objects.get(content_type__app_label="wagtailcore", codename=codename)
            GroupPagePermission.objects.get_or_create(group=group, page=home, permission=permission)
    root = Collection.get_first_root_node()
    for codename in ("add_image", "choose_image"):
        permission = Permission.objects.get(content_type__app_label="wagtailimages", codename=codename)
        GroupCollectionPermission.objects.get_or_create(group=group, collection=root, permission=permission)

    User = get_user_model()
    user = User.objects.filter(username="merchandiser").first()
    if user is not None:
        user.groups.add(group)
        if not reset:
            return StaffAccount("merchandiser", None, False)
        password = password or secrets.token_urlsafe(12)
        user.set_password(password)
        user.is_active = True
        user.save()
        return StaffAccount("merchandiser", password, False)
    password = password or secrets.token_urlsafe(12)
    user = User.objects.create_user("merchandiser", "merchandiser@example.com", password, first_name="Morgan",
                                    last_name="Merchant")
    user.groups.add(group)
    return StaffAccount("merchandiser", password, True)


# The demo's staff accounts: username, the environment variable that chooses its password (else one is
# generated) and the function that makes it. seed_demo and demo_credentials both go through this list.
STAFF_ACCOUNTS = (
    ("admin", "VITRINE_ADMIN_PASSWORD", ensure_admin),
    ("merchandiser", "VITRINE_MERCHANDISER_PASSWORD", ensure_merchandiser),
)


def check_staff_passwords(*, reset: bool = False) -> None:
    """The passwords chosen in the environment that ``ensure_staff(reset=reset)`` would set (the account is
    missing, or ``reset``) against AUTH_PASSWORD_VALIDATORS: these accounts reach the admin. A CommandError
    lists each variable with what its validators say, before any account is touched."""
    User = get_user_model()
    problems = []
    for username, variable, _ in STAFF_ACCOUNTS:
        password = os.environ.get(variable)
        user = User.objects.filter(username=username).first()
        if not password or (user is not None and not reset):
            continue
        try:
            validate_password(password, user or User(username=username, email=f"{username}@example.com"))
        except ValidationError as error:
            problems.append(f"{variable}: " + " ".join(error.messages))
    if problems:
        raise CommandError("Weak staff password chosen in the environment; choose a stronger one, or unset "
                           "the variable to have one generated.\n  " + "\n  ".join(problems))


def ensure_staff(*, reset: bool = False) -> list[StaffAccount]:
    """Every demo staff account, created where missing; with ``reset`` existing ones get a new password too.
    Chosen passwords must pass the password validators first (check_staff_passwords)."""
    check_staff_passwords(reset=reset)
    return [ensure(os.environ.get(variable), reset=reset) for _, variable, ensure in STAFF_ACCOUNTS]


def demo_shoppers():
    """The demo shoppers seed_customers makes (their email's domain says so), staff never included."""
    return get_user_model().objects.filter(email__endswith=f"@{DEMO_EMAIL_DOMAIN}", is_staff=False)


def reset_shopper_passwords() -> int:
    """Every demo shopper's password back to DEMO_PASSWORD (and the account active). Returns how many."""
    return demo_shoppers().update(password=make_password(DEMO_PASSWORD), is_active=True)
