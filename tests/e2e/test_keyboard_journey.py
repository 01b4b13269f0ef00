"""A shopper who uses only the keyboard buys something: from the home page through the skip link and the
header search box to search results, a product, the cart, and checkout, where they fill the address form and
place the order. Every control they land on shows where the focus is.

Screenshots land in test-artifacts/e2e/keyboard/ (git-ignored) for a human to look at.
"""

import re

import pytest
from playwright.sync_api import expect

from commerce.orders.models import Order
from tests.e2e.test_ai_blocks_journey import chromium, new_page
from tests.e2e.test_shopping_journey import ARTIFACTS as E2E_ARTIFACTS
from tests.factories import indexed_catalogue

pytestmark = pytest.mark.e2e

ARTIFACTS = E2E_ARTIFACTS / "keyboard"
MOST_TABS = 150  # more stops than any page has before its goal: a control out of reach fails the test

# What the shopper types into each empty required field of the checkout form, by the field's name.
ADDRESS = {"email": "keys@example.com", "full_name": "Kay Board", "line1": "2 Tab Lane", "city": "Leeds",
           "postcode": "LS1 4AP", "country": "GB"}

# A visible focus indicator: an outline, or the box-shadow ring the stylesheet draws for :focus-visible.
FOCUS_SHOWN = """element => {
  const style = getComputedStyle(element);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  return outline || style.boxShadow !== "none";
}"""


def focused(page):
    return page.locator("*:focus")


def assert_focus_shown(page) -> None:
    description = focused(page).evaluate("element => element.outerHTML.slice(0, 160)")
    assert focused(page).evaluate(FOCUS_SHOWN), f"no visible focus indicator on {description}"


def tab_to(page, target, key: str = "Tab") -> None:
    """Press ``key`` (Tab, or Shift+Tab to go back) until ``target`` has the focus, checking each stop on the
    way shows its focus."""
    for _ in range(MOST_TABS):
        page.keyboard.press(key)
        if target.evaluate("element => element === document.activeElement"):
            assert_focus_shown(page)
            return
        if focused(page).count():
            assert_focus_shown(page)
    raise AssertionError(f"{MOST_TABS} presses of {key} never reached {target}")


def shot(page, name: str) -> None:
    """What the shopper sees: the viewport (a full-page shot draws the sticky header over the page)."""
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def fill_required_fields(page, submit) -> list[str]:
    """Tab through a form up to its ``submit`` button, typing into each empty required field; the names typed into."""
    typed = []
    for _ in range(MOST_TABS):
        page.keyboard.press("Tab")
        field = focused(page)
        assert_focus_shown(page)
        if submit.evaluate("element => element === document.activeElement"):
            return typed
        name, value, required = field.evaluate("element => [element.name, element.value, element.required]")
        if required and not value:
            assert name in ADDRESS, f"the checkout form asks for {name!r}, which this test cannot answer"
            page.keyboard.type(ADDRESS[name])
            typed.append(name)
    raise AssertionError(f"{MOST_TABS} presses of Tab never reached {submit}")


@pytest.mark.django_db(transaction=True)
def test_a_keyboard_only_shopper_searches_buys_and_checks_out(live_server, wagtail_site):
    kettle = indexed_catalogue()["kettle"]

    with chromium() as browser:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        # Reduced motion: focus scrolls its target into view at once (no smooth scroll), as the shots show it.
        page = new_page(browser, reduced_motion="reduce")
        page.goto(live_server.url + "/")

        # The first stop is a skip link; Enter on it takes the next Tab into the main content.
        page.keyboard.press("Tab")
        expect(focused(page)).to_have_accessible_name("Skip to content")
        expect(focused(page)).to_be_visible()
        assert_focus_shown(page)
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
        assert focused(page).evaluate("element => element.closest('main') !== null")

        # Back up to the header search box: type and submit with Enter.
        tab_to(page, page.get_by_role("combobox", name="Search products"), key="Shift+Tab")
        page.keyboard.type("gooseneck kettle")
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"/search/\?q=gooseneck"))
        shot(page, "01-search")

        # A result opens with Enter.
        tab_to(page, page.get_by_role("main").get_by_role("link", name=kettle.title).first)
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_have_text(kettle.title)

        # Add to cart with Space (a button); on the cart, the checkout link with Enter.
        tab_to(page, page.get_by_role("button", name="Add to cart"))
        shot(page, "02-product-add-to-cart-focused")
        page.keyboard.press("Space")
        expect(page).to_have_url(re.compile(r"/cart/$"))
        expect(page.get_by_role("main")).to_contain_text(kettle.title)
        tab_to(page, page.get_by_role("link", name="Go to checkout"))
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_have_text("Checkout")

        # The address form, field by field, and the order placed with Enter on its button.
        place_order = page.get_by_role("button", name=re.compile("^Place order"))
        tab_to(page, page.get_by_role("link", name=re.compile("Back to cart")))
        typed = fill_required_fields(page, place_order)
        shot(page, "03-checkout-place-order-focused")
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"/checkout/done/\w+/$"))
        number = page.locator("[data-order-number]").inner_text().strip()
        shot(page, "04-confirmation")

    assert {"email", "full_name", "line1", "city", "postcode"} <= set(typed)
    order = Order.objects.get(number=number)
    assert order.email == ADDRESS["email"]
    assert [(line.title, line.quantity) for line in order.lines.all()] == [(kettle.title, 1)]
