from decimal import Decimal

import pytest
from wagtail.images import get_image_model
from wagtail.images.tests.utils import get_test_image_file

from tests.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

CHOOSER_RESULTS = "/admin/snippets/choose/catalogue/product/results/"


def test_the_product_chooser_tells_same_titled_products_apart_by_details_and_price(admin_client):
    ProductFactory(title="Cashmere Throw", base_price=Decimal("205.00"), attributes={"colour": "sage green"})
    ProductFactory(title="Cashmere Throw", base_price=Decimal("240.00"), attributes={"colour": "oatmeal"})

    results = admin_client.get(CHOOSER_RESULTS).content.decode()

    assert results.count("Cashmere Throw") == 2
    assert "205.00 GBP" in results and "240.00 GBP" in results
    assert "sage green" in results and "oatmeal" in results


def test_the_product_chooser_shows_variant_skus_and_a_thumbnail(admin_client):
    picture = get_image_model().objects.create(title="Throw", file=get_test_image_file())
    product = ProductFactory(title="Linen Duvet Cover", image=picture)
    VariantFactory(product=product, sku="DUV-SINGLE")
    VariantFactory(product=product, sku="DUV-DOUBLE")

    results = admin_client.get(CHOOSER_RESULTS).content.decode()

    assert "DUV-SINGLE, DUV-DOUBLE" in results or "DUV-DOUBLE, DUV-SINGLE" in results
    assert ".fill-48x48" in results and 'alt=""' in results  # decorative: the title names the product
