"""The priced-products block's HTML is shared (cached) but every shopper's add-to-cart forms carry their
own CSRF token; a price change shows at once."""

import re

import pytest
from django.core.cache import cache
from django.test import Client

from blocks.fragments import CSRF_PLACEHOLDER
from commerce.catalogue.services import set_current_price
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def test_cached_html_carries_each_shoppers_own_csrf_token(wagtail_site, publish):
    apron = ProductFactory(title="Linen Apron", base_price=20)
    publish(("priced_products", {"title": "This week's prices", "products": [apron.pk]}))
    shoppers = [Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)]
    pages = [shopper.get("/").content.decode() for shopper in shoppers for _ in range(2)]
    tokens = [TOKEN.search(html).group(1) for html in pages]
    assert all(CSRF_PLACEHOLDER not in html for html in pages)
    assert tokens[0] != tokens[2]  # not one shopper's token served to the other
    cached = [cache.get(key) for key in cache.keys("blocks:html:*")]
    assert cached and all(CSRF_PLACEHOLDER in html and "Linen Apron" in html for html in cached)
    assert not any(token in html for token in tokens for html in cached)

    form = {"csrfmiddlewaretoken": tokens[3], "product": apron.pk, "quantity": 1}
    assert shoppers[1].post("/cart/add/", form).status_code in (200, 302)  # the token is accepted


def test_a_price_change_shows_at_once(wagtail_site, publish, django_capture_on_commit_callbacks):
    apron = ProductFactory(title="Linen Apron", base_price=20)
    publish(("priced_products", {"title": "This week's prices", "products": [apron.pk]}))
    assert "20.00" in Client().get("/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        set_current_price(apron.pk, apron.base_price - 5, expected=apron.base_price)
    assert "15.00" in Client().get("/").content.decode()
