from decimal import Decimal

import pytest

from commerce.catalogue.models import PriceList, Product
from commerce.catalogue.services import (
    ProductPrice,
    catalogue_version,
    product_price,
    restore_base_prices,
    set_current_price,
    set_current_prices,
    set_prior_prices,
    shown_price,
)
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def price_of(product) -> Decimal:
    return Product.objects.values_list("price", flat=True).get(pk=product.pk)


def test_product_price_is_cached_and_dropped_on_every_price_write(django_capture_on_commit_callbacks):
    mug = ProductFactory(base_price=Decimal("10.00"))
    assert product_price(mug.pk) == ProductPrice(Decimal("10.00"), Decimal("10.00"), None, "GBP")
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


def test_set_current_prices_writes_the_prior_prices_of_the_products_it_moves_only():
    # given a product still at the expected price and one an editor changed meanwhile, both with a prior price
    mug = ProductFactory(prior_price=Decimal("11.00"))
    lamp = ProductFactory(prior_price=Decimal("11.00"))
    Product.objects.filter(pk=lamp.pk).update(price=Decimal("20.00"))
    # when prices move with the prior prices computed for the change
    set_current_prices({mug.pk: (Decimal("12.50"), Decimal("10.00")), lamp.pk: (Decimal("12.50"), Decimal("10.00"))},
                       {mug.pk: Decimal("12.50"), lamp.pk: Decimal("12.50")})
    # then the moved product has its new prior price and the raced one keeps its own
    assert Product.objects.get(pk=mug.pk).prior_price == Decimal("12.50")
    assert Product.objects.get(pk=lamp.pk).prior_price == Decimal("11.00")


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


def test_a_reduction_is_shown_only_against_the_prior_price_never_the_base_price():
    below_base = ProductFactory(base_price=Decimal("20.00"), price=Decimal("15.00"))
    below_prior = ProductFactory(base_price=Decimal("20.00"), price=Decimal("15.00"), prior_price=Decimal("16.00"))
    above_prior = ProductFactory(base_price=Decimal("20.00"), price=Decimal("15.00"), prior_price=Decimal("14.00"))

    assert shown_price(below_base).was is None and shown_price(below_base).discount_percent == 0
    assert (shown_price(below_prior).was, shown_price(below_prior).discount_percent) == (Decimal("16.00"), 6)
    assert shown_price(above_prior).was is None


def test_a_price_on_a_shopper_dependent_price_list_carries_the_disclosure_and_no_reduction(settings):
    settings.VITRINE_PERSONALISED_PRICE_DISCLOSURE = "Priced for you by an algorithm."
    product = ProductFactory(base_price=Decimal("20.00"), price=Decimal("15.00"), prior_price=Decimal("25.00"))

    base, current = shown_price(product, PriceList.BASE), shown_price(product, PriceList.CURRENT)

    assert (base.price, base.was, base.disclosure) == (Decimal("20.00"), None, "Priced for you by an algorithm.")
    assert (current.price, current.was, current.disclosure) == (Decimal("15.00"), Decimal("25.00"), "")


def test_set_prior_prices_stores_them_and_retires_cached_prices_and_fragments(django_capture_on_commit_callbacks):
    product = ProductFactory(base_price=Decimal("20.00"))
    assert product_price(product.pk).prior_price is None
    version = catalogue_version()

    with django_capture_on_commit_callbacks(execute=True):
        set_prior_prices({product.pk: Decimal("18.00")})

    assert product_price(product.pk).prior_price == Decimal("18.00")
    assert catalogue_version() != version  # cached grids and blocks showing the product are retired
