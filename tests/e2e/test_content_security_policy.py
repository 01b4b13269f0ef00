"""The Content-Security-Policy lets every page do its work. A browser walks the demo shop (home with all its
blocks, product, search, cart), the API docs and the Wagtail admin (page editor, snippets, images); the
browser reports no violation, and each page really did what its scripts are for: ReDoc lists the API's
operations and searches them in its worker, the editor shows the home page's blocks and its preview.

Screenshots land in test-artifacts/e2e/csp/ (git-ignored) for a human to look at.
"""

import re
from io import StringIO
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from ai.search import indexing
from commerce.catalogue.models import Product
from home.models import HomePage
from tests.e2e import test_ai_blocks_journey as journey
from tests.e2e.test_ai_blocks_journey import admin_login, chromium, new_page, stream_blocks

pytestmark = pytest.mark.e2e

ADMIN_PASSWORD = "csp-admin-walk-4821"
# Blocked on purpose: ReDoc's credit logo, which its script loads from the Redocly CDN (the demo is offline).
BLOCKED_ON_PURPOSE = "https://cdn.redoc.ly/"

# Every violation the page (or a frame in it) sees, sent to the test before the page can navigate away.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportCspViolation(
    `${location.pathname}: ${event.effectiveDirective} blocked ${event.blockedURI || "(inline)"}`);
});
"""


@pytest.fixture
def demo_shop(wagtail_site, settings, tmp_path, monkeypatch):
    """What `make demo` seeds (a smaller catalogue): the home page with every kind of block, a hero picture,
    products with pictures and variants, the admin; and the search index the workers would build."""
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setenv("VITRINE_ADMIN_PASSWORD", ADMIN_PASSWORD)
    monkeypatch.delenv("VITRINE_MERCHANDISER_PASSWORD", raising=False)
    call_command("seed_demo", "--products", "60", "--customers", "0", stdout=StringIO())
    indexing.index_products(list(Product.objects.values_list("pk", flat=True)))
    indexing.refresh_term_statistics()
    return Product.objects.filter(active=True, stock__gt=0, variants=None).order_by("pk").first()


def watch_for_violations(browser):
    """A browser page whose CSP violations, from events and from the console, land in the returned list."""
    violations = []
    page = new_page(browser)
    page.context.expose_function("reportCspViolation", lambda violation: violations.append(violation))
    page.context.add_init_script(REPORT_VIOLATIONS)
    page.on("console", lambda message: "Content Security Policy" in message.text and violations.append(
        f"{page.url}: {message.text}"))
    return page, violations


def settle(page):
    """Late work (personal fragments, the beacon, ReDoc's worker) done, and its violations reported."""
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)


@pytest.mark.django_db(transaction=True)
def test_shop_api_docs_and_admin_run_under_the_policy_without_a_violation(live_server, wagtail_site, demo_shop,
                                                                           monkeypatch):
    product = demo_shop
    home_blocks = len(HomePage.objects.get(pk=wagtail_site.pk).body)
    base = live_server.url
    # The journey's helpers screenshot (and on failure every open page) into its ARTIFACTS: ours.
    monkeypatch.setattr(journey, "ARTIFACTS", journey.ARTIFACTS.parent / "csp")

    with chromium() as browser:
        page, violations = watch_for_violations(browser)

        # The shop: a policy header on every page, and the pages' scripts at work.
        response = page.goto(base + "/")
        assert "'unsafe-inline'" not in response.headers["content-security-policy"]
        expect(page.locator(".hero__headline")).to_have_text("Slow mornings, well made")
        expect(page.locator(".hero__image")).to_be_attached()
        expect(page.locator("html")).to_have_class(re.compile(r"\bjs\b"))  # base.html's inline script ran
        expect(page.locator(".product-card").first).to_be_visible()
        settle(page)
        journey.shot(page, "01-home")

        page.goto(base + product.get_absolute_url())
        expect(page.locator("h1")).to_have_text(product.title)
        settle(page)
        page.click("button:has-text('Add to cart')")
        expect(page).to_have_url(re.compile(r"/cart/$"))
        expect(page.locator(".cart-line__title")).to_have_text(product.title)
        expect(page.locator("[data-cart-count]")).to_have_text("1")
        settle(page)
        journey.shot(page, "02-cart")

        page.goto(base + "/search/?" + urlencode({"q": product.title}))
        expect(page.locator(".product-card__title", has_text=product.title).first).to_be_visible()
        settle(page)
        journey.shot(page, "03-search")

        # The API docs: ReDoc renders the operations and searches them in its blob: worker.
        page.goto(base + "/api/v1/docs/")
        operations = page.locator("[data-section-id^='operation/']")
        expect(operations.first).to_be_attached(timeout=30_000)
        assert operations.count() >= 4
        page.get_by_placeholder("Search...").fill("recommendations")
        expect(page.locator("[data-role='search:results'] li").first).to_be_visible()
        settle(page)
        journey.shot(page, "04-api-docs")

        # The Wagtail admin: the home page's editor with its blocks and its live preview.
        admin_login(page, base, "admin", ADMIN_PASSWORD)
        page.goto(f"{base}/admin/pages/{wagtail_site.pk}/edit/")
        expect(stream_blocks(page)).to_have_count(home_blocks)
        expect(stream_blocks(page).first.get_by_role("heading", name=re.compile("^Hero"))).to_be_visible()
        page.get_by_role("button", name="Insert a block").last.click()
        expect(page.get_by_role("option", name="Heading", exact=True)).to_be_visible()
        page.keyboard.press("Escape")
        page.get_by_role("button", name="Toggle preview").click()
        preview = page.frame_locator("iframe[id='w-preview-iframe']")
        expect(preview.locator(".hero__headline")).to_have_text("Slow mornings, well made")
        settle(page)
        journey.shot(page, "05-page-editor")

        page.goto(base + "/admin/snippets/catalogue/product/")
        expect(page.get_by_role("link", name=product.title)).to_be_visible()
        page.get_by_role("link", name=product.title).click()
        expect(page.get_by_role("textbox", name="Title")).to_have_value(product.title)
        settle(page)
        journey.shot(page, "06-product-snippet")

        page.goto(base + "/admin/images/")
        expect(page.locator(".image-choice, [data-image-id], figure").first).to_be_visible()
        settle(page)
        journey.shot(page, "07-images")

    assert any(BLOCKED_ON_PURPOSE in violation for violation in violations)  # the policy is in force
    assert [violation for violation in violations if BLOCKED_ON_PURPOSE not in violation] == []
