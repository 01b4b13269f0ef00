from decimal import Decimal

import pytest

from commerce.catalogue.models import Product
from commerce.catalogue.services import (
    ProductPrice,
    product_price,
    restore_base_prices,
    set_current_price,
    set_current_prices,
)
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def price_of(product) -> Decimal:
    return Product.objects.values_list("price", flat=True).get(pk=product.pk)


def test_product_price_is_cached_and_dropped_on_every_price_write(django_capture_on_commit_callbacks):
    mug = ProductFactory(base_price=Decimal("10.00"))
    assert product_price(mug.pk) == ProductPrice(Decimal("10.00"), Decimal("10.00"), "GBP")
    Product.objects.filter(pk=mug.pk).update(price=Decimal("1.00"))  # behind the cache's back
    assert product_price(mug.pk).price == Decimal("10.00")

    with django_capture_on_commit_callbacks(execute=True):
        assert set_current_price(mug.pk, Decimal("11.00"), expected=Decimal("1.00"))

    assert product_price(mug.pk).price == Decimal("11.00")


def test_an_editor_saving_the_product_drops_its_cached_price(django_capture_on_commit_callbacks):
    mug = ProductFactory(base_price=Decimal("10.00"))
    product_price(mug.pk)
    mug.price = Decimal("8.00")
    with django_capture_on_commit_callbacks(execute=True):
        mug.save()
    assert product_price(mug.pk).price == Decimal("8.00")


def test_unknown_and_inactive_products_have_no_price():
    assert product_price(999_999) is None
    assert product_price(ProductFactory(active=False).pk) is None


def test_set_current_prices_moves_only_prices_still_as_expected():
    mug, lamp, same = ProductFactory(), ProductFactory(), ProductFactory()
    Product.objects.filter(pk=lamp.pk).update(price=Decimal("20.00"))  # an editor changed it meanwhile

    moved = set_current_prices({mug.pk: (Decimal("12.50"), Decimal("13.00")),
                                lamp.pk: (Decimal("12.50"), Decimal("13.00")),
                                same.pk: (Decimal("12.50"), Decimal("12.50"))})

    assert moved == {mug.pk}
    assert (price_of(mug), price_of(lamp), price_of(same)) == (Decimal("13.00"), Decimal("20.00"), Decimal("12.50"))
    assert not set_current_price(mug.pk, Decimal("14.00"), expected=Decimal("12.50"))


def test_restore_base_prices_moves_every_product_back_in_one_go(django_capture_on_commit_callbacks):
    sale, dear, plain = (ProductFactory(base_price=Decimal("10.00"), price=Decimal("8.00")),
                         ProductFactory(base_price=Decimal("10.00"), price=Decimal("12.00")), ProductFactory())
    product_price(sale.pk)

    with django_capture_on_commit_callbacks(execute=True):
        moved = restore_base_prices()

    assert sorted(moved) == sorted([(sale.pk, Decimal("8.00"), Decimal("10.00")),
                                    (dear.pk, Decimal("12.00"), Decimal("10.00"))])
    assert price_of(sale) == price_of(dear) == Decimal("10.00") and price_of(plain) == Decimal("12.50")
    assert product_price(sale.pk).price == Decimal("10.00")
