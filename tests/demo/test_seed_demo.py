import re
from decimal import Decimal
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from wagtail.images.models import Image
from wagtail.models import ReferenceIndex
from wagtail.search.backends import get_search_backend
from wagtail.search.models import IndexEntry

from commerce.catalogue.models import Category, Product, ProductVariant
from commerce.customers.models import Customer
from demo.products import generate_products
from home.models import ContentPage, HomePage
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """The demo's pictures land in a throwaway folder, not in var/test-media."""
    settings.MEDIA_ROOT = tmp_path / "media"


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", "--products", "120", *args, stdout=out)
    return out.getvalue()


def printed_password(output: str, username: str) -> str:
    match = re.search(rf"^\s*{username}\s+password: (\S+)$", output, re.MULTILINE)
    assert match, output
    return match.group(1)


def test_small_run_builds_a_complete_demo_shop():
    output = seed()

    # a category tree: departments with 30+ leaf categories, each with its picture
    leaves = Category.objects.filter(parent__isnull=False, children__isnull=True)
    assert leaves.count() >= 30
    assert Category.objects.filter(parent=None).count() >= 8
    assert not leaves.filter(image=None).exists()

    # exactly the products asked for, with unique slugs and shop-like prices, each with a picture of its own
    products = list(Product.objects.select_related("category", "image"))
    assert len({p.image.file_hash for p in products}) == 120
    assert len(products) == 120
    assert len({p.slug for p in products}) == 120
    for product in products:
        assert product.category.parent_id is not None
        assert product.price == product.base_price > Decimal("0")
        assert str(product.price)[-3:] in {".00", ".50", ".95", ".99"}
        assert product.currency == settings.VITRINE_CURRENCY
        assert product.image_id is not None and product.image_id != product.category.image_id
        assert isinstance(product.attributes, dict) and product.attributes
        assert product.description.count(". ") >= 1  # two sentences or more
    variants = ProductVariant.objects.all()
    assert variants.exists()
    assert len({v.sku for v in variants}) == variants.count()

    # bulk-created products still reach the Wagtail search index
    assert len(get_search_backend().search("coffee", Product)) > 0

    # a published home page with a hero and product grids, and editorial pages below it
    home = HomePage.objects.get()
    assert home.live and home.live_revision is not None
    block_types = [block.block_type for block in home.body]
    assert block_types[0] == "hero"
    grid = next(block for block in home.body if block.block_type == "product_grid")
    assert grid.value["products"] and all(isinstance(p, Product) for p in grid.value["products"])
    pages = ContentPage.objects.child_of(home).live()
    assert pages.count() >= 2
    assert any(block.block_type == "product_grid" for page in pages for block in page.body)

    # demo shoppers with a default address, who can log in
    customers = Customer.objects.filter(user__email__endswith="@demo.example.com")
    assert customers.count() == 50
    assert all(c.addresses.filter(is_default=True).count() == 1 for c in customers)
    shopper = customers.first().user
    assert authenticate(username=shopper.username, password="vitrine-demo") == shopper

    # staff accounts whose generated passwords are printed with the admin URL
    assert "http://testserver/admin/" in output
    admin = authenticate(username="admin", password=printed_password(output, "admin"))
    assert admin is not None and admin.is_superuser
    merchandiser = authenticate(username="merchandiser", password=printed_password(output, "merchandiser"))
    assert merchandiser is not None and not merchandiser.is_superuser
    assert merchandiser.has_perm("wagtailadmin.access_admin")
    assert merchandiser.has_perm("catalogue.change_product")
    assert merchandiser.has_perm("catalogue.add_category")
    assert merchandiser.has_perm("experiments.change_experiment")
    assert merchandiser.has_perm("experiments.manage_experiment")


def test_same_seed_gives_the_same_catalogue(settings, django_capture_on_commit_callbacks):
    seed("--seed", "7", "--customers", "0")
    first = list(Product.objects.order_by("pk").values_list("title", "slug", "base_price", "image__file_hash"))
    old_pks = list(Product.objects.values_list("pk", flat=True))
    pictures = Image.objects.count()

    with django_capture_on_commit_callbacks(execute=True):  # picture files are deleted once the reset commits
        seed("--seed", "7", "--customers", "0", "--reset")
    second = list(Product.objects.order_by("pk").values_list("title", "slug", "base_price", "image__file_hash"))

    assert first == second
    assert Product.objects.count() == 120
    # the old pictures went too: from the database, the search index and the disk
    image_type = ContentType.objects.get_for_model(Image)
    assert Image.objects.count() == pictures == IndexEntry.objects.filter(content_type=image_type).count()
    assert len(list((settings.MEDIA_ROOT / "original_images").iterdir())) == pictures
    # the old products left the search and reference indexes with them
    product_type = ContentType.objects.get_for_model(Product)
    assert IndexEntry.objects.filter(content_type=product_type).count() == 120
    assert not ReferenceIndex.objects.filter(to_content_type=product_type,
                                             to_object_id__in=[str(pk) for pk in old_pks]).exists()


def test_generation_is_deterministic_and_depends_on_the_seed():
    titles = [p.title for p in generate_products(50, seed=1)]

    assert titles == [p.title for p in generate_products(50, seed=1)]
    assert titles != [p.title for p in generate_products(50, seed=2)]


def test_past_its_own_pictures_a_product_shares_one_of_its_look(monkeypatch):
    # given a run where only the first 10 products get pictures of their own
    monkeypatch.setattr("demo.catalogue.OWN_PICTURES", 10)

    seed("--customers", "0")

    # then later products reuse the picture of an earlier one with the same kind, material and colour
    products = list(Product.objects.order_by("pk"))
    first_ten = {p.image_id for p in products[:10]}
    assert len(first_ten) == 10
    assert len({p.image_id for p in products}) < 120
    looks = {}
    for draft, product in zip(generate_products(120, 42), products, strict=True):
        look = (draft.kind, draft.material, draft.attributes.get("colour"))
        if draft.seq > 10 and look in looks:
            assert product.image_id == looks[look]
        looks.setdefault(look, product.image_id)


def test_if_empty_does_nothing_once_products_exist():
    seed("--if-empty", "--customers", "0")
    before = Product.objects.count(), Category.objects.count(), ProductVariant.objects.count()

    output = seed("--if-empty")

    assert "nothing to do" in output
    assert (Product.objects.count(), Category.objects.count(), ProductVariant.objects.count()) == before


def test_refuses_a_non_empty_catalogue_without_reset():
    ProductFactory()

    with pytest.raises(CommandError, match="--reset"):
        seed()

    assert Product.objects.count() == 1


def test_existing_admin_keeps_its_password_and_new_passwords_come_from_the_environment(monkeypatch):
    UserFactory(username="admin", password="kept-secret-123", is_staff=True, is_superuser=True)
    monkeypatch.setenv("VITRINE_ADMIN_PASSWORD", "ignored-because-admin-exists")
    monkeypatch.setenv("VITRINE_MERCHANDISER_PASSWORD", "from-the-env-456")

    output = seed("--customers", "0")

    assert "admin         already exists; its password was not changed" in output
    assert authenticate(username="admin", password="kept-secret-123") is not None
    assert printed_password(output, "merchandiser") == "from-the-env-456"
    assert get_user_model().objects.get(username="merchandiser").check_password("from-the-env-456")


def test_a_weak_chosen_admin_password_stops_the_seeding_before_it_starts(monkeypatch):
    monkeypatch.setenv("VITRINE_ADMIN_PASSWORD", "short")
    monkeypatch.delenv("VITRINE_MERCHANDISER_PASSWORD", raising=False)

    with pytest.raises(CommandError, match="VITRINE_ADMIN_PASSWORD: This password is too short"):
        seed("--customers", "0")

    assert not Product.objects.exists()
    assert not get_user_model().objects.filter(username__in=["admin", "merchandiser"]).exists()


def test_a_weak_password_for_an_admin_that_exists_is_not_used_and_not_refused(monkeypatch):
    UserFactory(username="admin", password="kept-secret-123", is_staff=True, is_superuser=True)
    monkeypatch.setenv("VITRINE_ADMIN_PASSWORD", "short")
    monkeypatch.delenv("VITRINE_MERCHANDISER_PASSWORD", raising=False)

    output = seed("--customers", "0")

    assert "admin         already exists; its password was not changed" in output
    assert get_user_model().objects.get(username="admin").check_password("kept-secret-123")

