"""A shopper puts a product from their own carousel in their cart, comes back, and their carousel has
changed: the refresh runs on a real worker (the realtime queue) and the page's next fetch of their row
shows it, without waiting for the cached row to expire.

Screenshots land in test-artifacts/e2e/ai-blocks/ (git-ignored) for a human to look at.
"""

import re
import time

import pytest
from celery.contrib.testing.worker import start_worker
from playwright.sync_api import expect

from ai.recommendations.models import CustomerRecommendations
from ai.recommendations.training import train_recommendations
from home.models import ContentPage
from tests.e2e.test_ai_blocks_journey import chromium, new_page, shot, sign_in
from tests.factories import embedding
from vitrine.celery import app

pytestmark = pytest.mark.e2e

FRESH_WITHIN = 10  # seconds: generous; the list is refreshed within a second, the row used to wait a minute


@pytest.fixture
def realtime_worker():
    """A Celery worker on the realtime queue, in a thread of this process (the test's database)."""
    with start_worker(app, queues=["realtime"], perform_ping_check=False, loglevel="WARNING") as worker:
        yield worker


@pytest.fixture
def carousel_page(wagtail_site, shop):
    """A page whose only block is a personalised carousel of 4; every product has a text embedding."""
    products, customers = shop
    for i in range(5):
        embedding(products[f"coffee{i}"], (0, 1.0), (10 + i, 0.2))
        embedding(products[f"garden{i}"], (1, 1.0), (10 + i, 0.2))
    content = wagtail_site.add_child(instance=ContentPage(title="For you", slug="for-you", body=[
        {"type": "recommendations", "value": {"title": "Picked for you", "strategy": "personalised", "count": 4,
                                              "category": None, "product": None, "fallback": "trending"}}]))
    content.save_revision().publish()
    return content.get_url()


def shown_row(page, url: str) -> list[str]:
    """The product ids of the shopper's own row, once the page has swapped it in."""
    page.goto(url)
    row = page.locator(".ai-carousel.is-personalised")
    expect(row.locator(".carousel__item")).not_to_have_count(0)
    expect(page.locator("[data-fragment-url]")).to_have_count(0)
    return row.locator(".carousel__item").evaluate_all("items => items.map(item => item.dataset.productId)")


def add_the_rows_first_product_to_the_cart(page) -> str:
    row = page.locator(".ai-carousel.is-personalised")
    title = row.locator(".product-card__title").first.inner_text()
    row.locator(".product-card__link").first.click()
    page.get_by_role("button", name="Add to cart").click()
    expect(page).to_have_url(re.compile(r"/cart/$"))
    expect(page.get_by_text(title).first).to_be_visible()
    return title


def row_after_change(page, url: str, before: list[str]) -> list[str]:
    """The row, reloaded until it differs from ``before``, for at most FRESH_WITHIN seconds."""
    deadline = time.monotonic() + FRESH_WITHIN
    shown = shown_row(page, url)
    while shown == before and time.monotonic() < deadline:
        time.sleep(0.2)
        shown = shown_row(page, url)
    return shown


@pytest.mark.django_db(transaction=True)
def test_an_anonymous_visitors_row_changes_soon_after_an_add_to_cart(live_server, carousel_page, realtime_worker):
    url = live_server.url + carousel_page
    with chromium() as browser:
        # given a new visitor's row: what is popular, no history behind it
        page = new_page(browser)
        before = shown_row(page, url)
        expect(page.get_by_text("Because you viewed")).to_have_count(0)

        # when they put its first product in their cart and come back
        title = add_the_rows_first_product_to_the_cart(page)
        after = row_after_change(page, url, before)

        # then the row is theirs now: near what they added, which it no longer shows
        assert after != before and before[0] not in after
        expect(page.locator(".ai-carousel.is-personalised .carousel__reason").first).to_have_text(
            f"Because you viewed {title}")
        shot(page, "07-visitor-row-after-add-to-cart")


@pytest.mark.django_db(transaction=True)
def test_a_signed_in_customers_row_changes_soon_after_an_add_to_cart(live_server, carousel_page, shop,
                                                                    realtime_worker):
    _, customers = shop
    assert train_recommendations() is not None
    shopper = customers["newcomer"]
    assert CustomerRecommendations.objects.filter(customer=shopper).exists()
    url = live_server.url + carousel_page
    with chromium() as browser:
        # given the customer, signed in, and their precomputed row
        page = new_page(browser)
        sign_in(page, live_server.url, shopper)
        before = shown_row(page, url)

        # when they put its first product in their cart and come back
        add_the_rows_first_product_to_the_cart(page)
        after = row_after_change(page, url, before)

        # then the row is refreshed, without what is now in their cart
        assert after != before and before[0] not in after
        shot(page, "08-customer-row-after-add-to-cart")
