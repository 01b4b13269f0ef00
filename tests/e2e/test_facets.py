"""Facets in a real browser: a shopper ticks facet values on the search page and on a category page and
sees the results narrow; the links work without JavaScript and keep the selection in the URL.

Screenshots land in test-artifacts/e2e/ (git-ignored) for a human to look at.
"""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.e2e.test_search_suggestions import browser_page
from tests.e2e.test_shopping_journey import ARTIFACTS
from tests.factories import CategoryFactory, ProductFactory, indexed_catalogue

pytestmark = pytest.mark.e2e


def facet(page, label: str, count: int):
    return page.get_by_role("navigation", name="Filter results").get_by_role(
        "link", name=re.compile(rf"{re.escape(label)} \({count}\)"))


@pytest.mark.django_db(transaction=True)
def test_a_shopper_narrows_search_results_with_facets(live_server, wagtail_site):
    indexed_catalogue()

    with browser_page(javascript=False) as (page, violations):
        page.goto(live_server.url + "/search/?q=steel+spade+kettle")
        expect(page.get_by_role("link", name=re.compile("Border Spade")).first).to_be_visible()

        facet(page, "steel", 2).click()
        expect(page).to_have_url(re.compile(r"material=steel"))
        expect(facet(page, "steel", 2)).to_have_attribute("aria-current", "true")
        facet(page, "In stock", 1).click()

        expect(page).to_have_url(re.compile(r"material=steel&in_stock=1"))
        expect(page.get_by_text("1 result for")).to_be_visible()
        expect(page.get_by_role("link", name=re.compile("Gooseneck Kettle")).first).to_be_visible()
        expect(page.get_by_role("link", name=re.compile("Border Spade"))).to_have_count(0)
        page.screenshot(path=str(ARTIFACTS / "search-facets.png"), full_page=True)

        page.get_by_role("link", name="Clear all filters").click()
        expect(page.get_by_role("link", name=re.compile("Border Spade")).first).to_be_visible()
    assert not violations


@pytest.mark.django_db(transaction=True)
def test_a_shopper_narrows_a_category_page_with_facets(live_server, wagtail_site):
    home = CategoryFactory(name="Home")
    for title, colour, price in [("Navy Mug", "navy", "12.00"), ("Navy Cushion", "navy", "30.00"),
                                 ("Sage Bowl", "sage", "30.00"), ("Oatmeal Throw", "oatmeal", "80.00")]:
        ProductFactory(title=title, category=home, attributes={"colour": colour}, base_price=Decimal(price))

    with browser_page() as (page, violations):
        page.goto(live_server.url + "/shop/home/")
        expect(page.get_by_text("4 products")).to_be_visible()

        facet(page, "navy", 2).click()
        expect(page.get_by_text("2 products")).to_be_visible()
        facet(page, "sage", 1).click()  # OR within a facet: navy or sage
        expect(page.get_by_text("3 products")).to_be_visible()
        facet(page, "£25 to £50", 2).click()  # AND across facets: and £25–£50

        expect(page).to_have_url(re.compile(r"colour=navy&colour=sage&price=25-50"))
        expect(page.get_by_text("2 products")).to_be_visible()
        expect(page.get_by_role("link", name=re.compile("Navy Cushion")).first).to_be_visible()
        expect(page.get_by_role("link", name=re.compile("Navy Mug"))).to_have_count(0)
        page.screenshot(path=str(ARTIFACTS / "category-facets.png"), full_page=True)
    assert not violations
