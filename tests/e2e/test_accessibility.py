"""axe-core, run in a real browser, finds no serious or critical accessibility violation on the shop's pages
(home, a department, a product, search results, a cart with an item, checkout) nor on the Wagtail admin
screens merchandisers use (dashboard, Storefront AI, the page explorer and editor, the product, pricing rule
and experiment listings).

axe-core comes bundled with the axe-playwright-python package (no network); Playwright evaluates it in the
page through the DevTools protocol, which the Content-Security-Policy does not govern. Full-page screenshots
of every page land in test-artifacts/e2e/accessibility/ (git-ignored); with VITRINE_README_SCREENSHOTS=1 the
storefront's key pages are also written, as the README shows them, to docs/screenshots/.
"""

import io
import os
from pathlib import Path
from urllib.parse import urlencode

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from PIL import Image
from playwright.sync_api import expect

from ai.experiments.models import Experiment
from ai.pricing.models import PricingRule
from commerce.catalogue.models import Product
from tests.e2e.test_ai_blocks_journey import admin_login, chromium, new_page
from tests.e2e.test_content_security_policy import ADMIN_PASSWORD, demo_shop  # noqa: F401 (a fixture)
from tests.e2e.test_shopping_journey import ARTIFACTS as E2E_ARTIFACTS
from tests.factories import ExperimentFactory, PricingRuleFactory

pytestmark = pytest.mark.e2e

ARTIFACTS = E2E_ARTIFACTS / "accessibility"
README_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
README_SCREENSHOT_HEIGHT = 1300
BLOCKING_IMPACTS = {"serious", "critical"}

# Violations in markup Wagtail itself renders, which our templates and hooks cannot change: (rule id, a CSS
# selector the failing element matches). Everything else found on an admin screen fails the test.
WAGTAIL_OWN_VIOLATIONS = {
    # Draftail, the rich text editor of the page editor's StreamField, renders its contenteditable
    # role="textbox" without a name: the block's <label> names Wagtail's hidden input, not the editor.
    ("aria-input-field-name", ".public-DraftEditor-content"),
}


def is_ignored(page, rule_id: str, node: dict, ignored: set[tuple[str, str]]) -> bool:
    selectors = [selector for rule, selector in ignored if rule == rule_id]
    if not selectors or len(node["target"]) != 1:  # a target in a frame or shadow root is never ignored
        return False
    return page.locator(node["target"][0]).first.evaluate(
        "(element, selectors) => selectors.some(selector => element.matches(selector))", selectors)


def blocking_violations(page, ignored: set[tuple[str, str]] = frozenset()) -> list[str]:
    """axe's serious and critical violations on the page as it is now, less the ``ignored`` (rule id, selector)
    pairs; one entry per rule: its id, impact and help text, then the selector and the start of the markup of
    each element that fails it."""
    found = []
    for violation in Axe().run(page).response["violations"]:
        if violation["impact"] not in BLOCKING_IMPACTS:
            continue
        elements = [f"{' '.join(node['target'])} {node['html'][:160]}" for node in violation["nodes"]
                    if not is_ignored(page, violation["id"], node, ignored)]
        if elements:
            found.append(f"{violation['id']} ({violation['impact']}): {violation['help']}\n    "
                         + "\n    ".join(elements))
    return found


def check(page, name: str, failures: dict[str, list[str]], *, readme: bool = False,
          ignored: set[tuple[str, str]] = frozenset()) -> None:
    """Record the page's blocking violations under ``name`` and screenshot it (for the README too)."""
    page.wait_for_load_state("networkidle")  # personal fragments swapped in: axe sees what the shopper sees
    if violations := blocking_violations(page, ignored):
        failures[f"{name} ({page.url})"] = violations
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    if readme and os.environ.get("VITRINE_README_SCREENSHOTS"):
        readme_screenshot(page, name)


def readme_screenshot(page, name: str) -> None:
    """The top of the page at the 1280-pixel width the tests browse at, in 256 colours: small enough to
    commit. An octree palette keeps the interface's small patches of colour; dithering smooths the pictures."""
    height = min(page.evaluate("document.documentElement.scrollHeight"), README_SCREENSHOT_HEIGHT)
    png = page.screenshot(full_page=True, clip={"x": 0, "y": 0, "width": 1280, "height": height})
    shot = Image.open(io.BytesIO(png)).convert("RGB")
    palette = shot.quantize(colors=256, method=Image.Quantize.FASTOCTREE)
    README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot.quantize(palette=palette, dither=Image.Dither.FLOYDSTEINBERG).save(
        README_SCREENSHOTS / f"{name}.png", optimize=True)


def report(failures: dict[str, list[str]]) -> str:
    return "Serious or critical accessibility violations:\n" + "\n".join(
        f"{page}:\n  " + "\n  ".join(violations) for page, violations in failures.items())


@pytest.mark.django_db(transaction=True)
def test_the_shop_has_no_serious_accessibility_violations(live_server, demo_shop):  # noqa: F811
    product = demo_shop
    department = product.category.ancestors()[0]  # the top-level one: a full grid
    base, failures = live_server.url, {}

    with chromium() as browser:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page = new_page(browser)
        page.goto(base + "/")
        expect(page.get_by_role("main")).to_be_visible()
        check(page, "home", failures, readme=True)

        page.goto(base + department.get_absolute_url())
        expect(page.get_by_role("heading", level=1)).to_have_text(department.name)
        expect(page.get_by_role("main").get_by_role("link", name=product.title).first).to_be_visible()
        check(page, "category", failures, readme=True)

        page.goto(base + product.get_absolute_url())
        expect(page.get_by_role("heading", level=1)).to_have_text(product.title)
        check(page, "product", failures, readme=True)

        page.goto(base + "/search/?" + urlencode({"q": product.title}))
        expect(page.get_by_role("link", name=product.title).first).to_be_visible()
        check(page, "search", failures, readme=True)

        page.goto(base + product.get_absolute_url())
        page.get_by_role("button", name="Add to cart").click()
        expect(page.get_by_role("link", name="Go to checkout")).to_be_visible()
        check(page, "cart", failures)

        page.get_by_role("link", name="Go to checkout").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Checkout")
        check(page, "checkout", failures)

    assert not failures, report(failures)


@pytest.mark.django_db(transaction=True)
def test_the_admin_screens_have_no_serious_accessibility_violations(live_server, wagtail_site, demo_shop):  # noqa: F811
    # Listings with rows in them: an empty listing would hide its table's violations.
    PricingRuleFactory()
    ExperimentFactory()
    screens = {
        "admin-dashboard": "/admin/",
        "admin-storefront-ai": reverse("storefront_ai_dashboard"),
        "admin-pages-explorer": f"/admin/pages/{wagtail_site.pk}/",
        "admin-page-editor": f"/admin/pages/{wagtail_site.pk}/edit/",
        "admin-products": reverse(Product.snippet_viewset.get_url_name("list")),
        "admin-pricing-rules": reverse(PricingRule.snippet_viewset.get_url_name("list")),
        "admin-experiments": reverse(Experiment.snippet_viewset.get_url_name("list")),
    }
    base, failures = live_server.url, {}

    with chromium() as browser:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page = new_page(browser)
        admin_login(page, base, "admin", ADMIN_PASSWORD)
        for name, path in screens.items():
            page.goto(base + path)
            expect(page.get_by_role("main")).to_be_visible()
            check(page, name, failures, ignored=WAGTAIL_OWN_VIOLATIONS)

    assert not failures, report(failures)
