from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from commerce.catalogue.models import Category, Product
from tests.factories import CategoryFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


def test_product_without_price_sells_at_base_price_and_gets_a_unique_slug():
    first = ProductFactory(title="Oak Side Table", base_price=Decimal("89.00"))
    second = ProductFactory(title="Oak Side Table", base_price=Decimal("89.00"))

    assert first.price == Decimal("89.00")
    assert first.slug == "oak-side-table"
    assert second.slug == "oak-side-table-2"
    assert first.get_absolute_url() == "/products/oak-side-table/"


def test_database_refuses_negative_prices_and_stock():
    product = ProductFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=product.pk).update(price=Decimal("-1"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=product.pk).update(stock=-1)


def test_attributes_must_be_an_object():
    product = ProductFactory.build(attributes=["red"], category=CategoryFactory())
    with pytest.raises(ValidationError) as error:
        product.full_clean()
    assert "attributes" in error.value.message_dict


def test_category_path_and_descendants_follow_the_tree():
    home = CategoryFactory(name="Home")
    kitchen = CategoryFactory(name="Kitchen", parent=home)
    mugs = CategoryFactory(name="Mugs", parent=kitchen)
    garden = CategoryFactory(name="Garden")

    assert mugs.path_display == "Home > Kitchen > Mugs"
    assert set(home.descendant_ids()) == {home.pk, kitchen.pk, mugs.pk}
    assert garden.pk not in home.descendant_ids()


def test_category_cannot_be_moved_below_its_own_descendant():
    home = CategoryFactory(name="Home")
    kitchen = CategoryFactory(name="Kitchen", parent=home)
    home.parent = kitchen
    with pytest.raises(ValidationError):
        home.full_clean()


def test_in_category_includes_subcategories_and_active_excludes_hidden():
    home = CategoryFactory(name="Home")
    kitchen = CategoryFactory(name="Kitchen", parent=home)
    mug = ProductFactory(category=kitchen)
    hidden = ProductFactory(category=kitchen, active=False)
    elsewhere = ProductFactory()

    found = set(Product.objects.active().in_category(home))

    assert mug in found
    assert hidden not in found and elsewhere not in found


def test_variant_sku_is_unique():
    VariantFactory(sku="MUG-L")
    with pytest.raises(IntegrityError), transaction.atomic():
        VariantFactory(sku="MUG-L")


def test_category_slug_generated_from_name():
    assert Category.objects.create(name="Coffee & Tea").slug == "coffee-tea"


def test_hero_block_accepts_site_paths_and_web_addresses_but_not_junk():
    from blocks.blocks import HeroBlock

    block = HeroBlock()
    for good in ("/shop/", "https://example.com/sale"):
        block.clean(block.to_python({"headline": "Sale", "link_url": good}))
    with pytest.raises(ValidationError):
        block.clean(block.to_python({"headline": "Sale", "link_url": "javascript:alert(1)"}))
