"""The search box suggests as the shopper types, in a real browser: the keyboard moves through the
suggestions and picks one; without JavaScript the box is a plain search form.

Screenshots land in test-artifacts/e2e/ (git-ignored) for a human to look at.
"""

import re
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from ai.search.models import SearchQuery
from tests.e2e.test_shopping_journey import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from tests.factories import indexed_catalogue

pytestmark = pytest.mark.e2e


@contextmanager
def browser_page(*, javascript: bool = True):
    """A fresh headless Chromium page, and the Content-Security-Policy violations its console reports."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 800}, java_script_enabled=javascript)
        page = context.new_page()
        page.set_default_timeout(15_000)
        violations = []
        page.on("console", lambda message: violations.append(message.text)
                if "Content Security Policy" in message.text else None)
        try:
            yield page, violations
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "search-suggestions-failure.png"))
            raise
        finally:
            context.close()
            browser.close()


def shop_with_searches():
    indexed_catalogue()
    for _ in range(2):
        SearchQuery.objects.create(query="coffee dripper", normalized="coffee dripper", visitor_id=uuid.uuid4(),
                                   result_count=1)


def type_in_the_search_box(page, base_url: str, text: str):
    """Open the search page, type ``text`` key by key into the header's box; the box and its suggestions."""
    page.goto(base_url + "/search/")
    box = page.get_by_role("combobox", name="Search products")
    box.press_sequentially(text)
    return box, page.get_by_role("listbox", name="Suggestions")


@pytest.mark.django_db(transaction=True)
def test_a_shopper_picks_a_suggested_search_with_the_keyboard(live_server, wagtail_site):
    shop_with_searches()

    with browser_page() as (page, violations):
        box, listbox = type_in_the_search_box(page, live_server.url, "Cof")
        options = listbox.get_by_role("option")
        expect(options).to_have_text([re.compile("^coffee dripper"), re.compile("^coffee"),
                                      re.compile("^Coffee & Tea")])
        expect(box).to_have_attribute("aria-expanded", "true")

        box.press("ArrowDown")
        box.press("ArrowDown")
        box.press("ArrowUp")
        expect(options.nth(0)).to_have_attribute("aria-selected", "true")
        expect(box).to_have_attribute("aria-activedescendant", options.nth(0).get_attribute("id"))
        page.screenshot(path=str(ARTIFACTS / "search-suggestions.png"))

        box.press("Enter")
        expect(page).to_have_url(re.compile(r"/search/\?q=coffee\+dripper$"))
        expect(page.get_by_role("link", name=re.compile("Coffee Dripper")).first).to_be_visible()
    assert not violations


@pytest.mark.django_db(transaction=True)
def test_a_suggested_category_leads_to_its_page_and_escape_closes_the_list(live_server, wagtail_site):
    shop_with_searches()

    with browser_page() as (page, violations):
        box, listbox = type_in_the_search_box(page, live_server.url, "gard")
        expect(listbox.get_by_role("option")).to_have_text([re.compile("^Garden ToolsCategory$")])

        box.press("Escape")
        expect(listbox).to_be_hidden()
        expect(box).to_have_attribute("aria-expanded", "false")

        box.press("ArrowDown")
        box.press("Enter")
        expect(page).to_have_url(re.compile(r"/shop/garden-tools/$"))
    assert not violations


@pytest.mark.django_db(transaction=True)
def test_without_javascript_the_box_is_a_plain_search_form(live_server, wagtail_site):
    shop_with_searches()

    with browser_page(javascript=False) as (page, _):
        page.goto(live_server.url + "/")
        box = page.get_by_role("searchbox", name="Search products")
        box.fill("coffee")
        box.press("Enter")
        expect(page).to_have_url(re.compile(r"/search/\?q=coffee$"))
        expect(page.get_by_role("link", name=re.compile("Coffee Dripper")).first).to_be_visible()
