"""A shopper's whole journey in a real browser: home → category → product → cart → checkout → confirmation.

Screenshots of every step land in test-artifacts/e2e/ (git-ignored) for a human to look at.
"""

import re
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from commerce.orders.models import Order
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"


@contextmanager
def chromium_page():
    """A fresh headless Chromium page. ORM calls belong outside this block: Playwright's sync API runs an
    event loop on this thread, and Django would open (and leak) a separate connection for that context."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            yield page
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "failure.png"), full_page=True)
            raise
        finally:
            context.close()
            browser.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.mark.django_db(transaction=True)
def test_a_guest_buys_a_mug(live_server, wagtail_site):
    kitchen = CategoryFactory(name="Kitchen")
    tableware = CategoryFactory(name="Tableware", parent=kitchen)
    mug = ProductFactory(title="Speckled stoneware mug", category=tableware, stock=6,
                         attributes={"capacity_ml": 350, "material": "stoneware"})
    ProductFactory(title="Oat linen napkin", category=tableware, base_price=Decimal("8.00"))
    ProductFactory(title="Cast-iron skillet", category=kitchen, base_price=Decimal("48.00"))

    with chromium_page() as page:
        # Home: the department menu leads into the catalogue.
        page.goto(live_server.url + "/")
        expect(page.locator(".logo").first).to_have_text("Vitrine")
        shot(page, "01-home")
        page.locator(".site-nav__link", has_text="Kitchen").click()

        # Category: every product in the department and below it, with a sort select.
        expect(page).to_have_url(re.compile(r"/shop/kitchen/$"))
        expect(page.locator("h1")).to_have_text("Kitchen")
        expect(page.locator(".listing-toolbar__count")).to_have_text("3 products")
        page.select_option("#sort-select", "-price")  # vitrine.js submits on change
        expect(page).to_have_url(re.compile(r"sort=-price"))
        expect(page.locator(".product-card__title").first).to_have_text("Cast-iron skillet")
        shot(page, "02-category")
        page.locator(".product-card__link", has_text="Speckled stoneware mug").click()

        # Product: details and the add-to-cart form.
        expect(page.locator("h1")).to_have_text("Speckled stoneware mug")
        expect(page.locator(".stock-state")).to_contain_text("In stock")
        expect(page.locator(".attributes")).to_contain_text("Capacity")
        page.fill("#quantity-input", "2")
        shot(page, "03-product")
        page.click("button:has-text('Add to cart')")

        # Cart: the line, its total and the header badge.
        expect(page).to_have_url(re.compile(r"/cart/$"))
        expect(page.locator(".message--success")).to_contain_text("Added Speckled stoneware mug")
        expect(page.locator(".cart-line__title")).to_have_text("Speckled stoneware mug")
        expect(page.locator(".cart-line__total")).to_have_text("£25.00")
        expect(page.locator("[data-cart-count]")).to_have_text("2")
        shot(page, "04-cart")
        page.click("text=Go to checkout")

        # Checkout: fill the address form and place the order.
        expect(page.locator("h1")).to_have_text("Checkout")
        page.fill("#id_email", "guest@example.com")
        page.fill("#id_full_name", "Sam Shopper")
        page.fill("#id_line1", "1 High Street")
        page.fill("#id_city", "Bristol")
        page.fill("#id_postcode", "BS1 1AA")
        expect(page.locator("#id_country")).to_have_value("GB")  # the shop's country, preselected
        page.select_option("#id_country", label="United Kingdom")
        shot(page, "05-checkout")
        page.click("button:has-text('Place order')")

        # Confirmation: the order number, and an empty cart again.
        expect(page).to_have_url(re.compile(r"/checkout/done/\w+/$"))
        number = page.locator("[data-order-number]").inner_text().strip()
        expect(page.locator("[data-cart-count]")).to_have_text("0")
        shot(page, "06-confirmation")

    # The order really exists, at the price shown, and took the stock.

    assert re.fullmatch(r"[0-9A-F]{8}", number)
    order = Order.objects.get(number=number)
    assert order.email == "guest@example.com"
    assert order.total == Decimal("25.00")
    assert [(line.title, line.quantity) for line in order.lines.all()] == [("Speckled stoneware mug", 2)]
    mug.refresh_from_db()
    assert mug.stock == 4
