"""A merchandiser builds a page from the three AI blocks in the Wagtail admin; a shopper then sees it,
first with the shared fallback row and, once the page has loaded, with their own recommendations.

Screenshots land in test-artifacts/e2e/ai-blocks/ (git-ignored) for a human to look at.
"""

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection
from django.http import HttpRequest
from playwright.sync_api import expect, sync_playwright

from ai.experiments import serving as experiments
from ai.recommendations.models import CustomerRecommendations
from ai.recommendations.training import train_recommendations
from commerce.catalogue.models import Product
from commerce.customers.middleware import VisitorMiddleware
from commerce.customers.services import VISITOR_COOKIE
from commerce.events.models import CustomerEvent
from commerce.events.services import QUEUE_KEY, drain_events, redis_client
from demo.accounts import ensure_merchandiser
from home.models import ContentPage
from tests.e2e.test_shopping_journey import ARTIFACTS as E2E_ARTIFACTS
from tests.e2e.test_shopping_journey import CHROMIUM, CHROMIUM_ARGS
from tests.factories import BROWSER, ExperimentFactory

pytestmark = pytest.mark.e2e

ARTIFACTS = E2E_ARTIFACTS / "ai-blocks"
MERCHANDISER_PASSWORD = "merch-andise-789"
SHOPPER_PASSWORD = "correct-horse-battery"  # what tests.factories.UserFactory sets
SIMILAR_NEEDS_A_PRODUCT = "Choose the product whose similar or bought-together products to show."


@contextmanager
def chromium():
    """A headless Chromium; each ``new_page(browser)`` is a fresh context (its own cookies). ORM calls
    belong outside this block: Playwright's sync API runs an event loop on this thread, and Django would
    open (and leak) a separate connection for that context. On failure every open page is screenshotted."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        except Exception:
            for n, page in enumerate(p for context in browser.contexts for p in context.pages):
                page.screenshot(path=str(ARTIFACTS / f"failure-{n}.png"), full_page=True)
            raise
        finally:
            browser.close()


def new_page(browser, **context_options):
    page = browser.new_context(viewport={"width": 1280, "height": 900}, **context_options).new_page()
    page.set_default_timeout(15_000)
    return page


def sign_in(page, base_url: str, customer) -> None:
    """Log ``customer`` in through the account page, as a shopper does."""
    page.goto(base_url + "/account/login/")
    page.get_by_label("Email").fill(customer.user.username)
    page.get_by_label("Password").fill(SHOPPER_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/account/$"))


def shot(page, name: str, *, height: int | None = None) -> None:
    """Wagtail's editor scrolls inside a fixed-height layout, so a full-page screenshot of it is one
    viewport; ``height`` grows the viewport for the shot to show the whole form."""
    if height:
        page.set_viewport_size({"width": 1280, "height": height})
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    if height:
        page.set_viewport_size({"width": 1280, "height": 900})


# --- the Wagtail editor ---------------------------------------------------------------------------


def admin_login(page, base_url: str, username: str, password: str) -> None:
    page.goto(base_url + "/admin/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign in")).to_have_count(0)  # off the login page: signed in


def start_content_page(page, base_url: str, home_id: int, title: str) -> None:
    """Pages → the home page → Add child page → Content page (Wagtail skips the type chooser when the
    parent allows a single page type, as HomePage does)."""
    page.goto(f"{base_url}/admin/pages/{home_id}/")
    page.get_by_role("link", name="Add child page").first.click()
    content_page_type = page.get_by_role("link", name="Content page")
    if content_page_type.count():
        content_page_type.click()
    expect(page.get_by_role("heading", name="New: Content page")).to_be_attached()
    page.get_by_placeholder("Page title*").fill(title)


def stream_blocks(page):
    """The body StreamField's top-level blocks, in order (nested ListBlock children excluded)."""
    return page.locator("[data-streamfield-stream-container] > [data-streamfield-child]")


def insert_block(page, label: str):
    """The StreamField's "+" inserter at the end of the stream, then the block's option in the chooser."""
    before = stream_blocks(page).count()
    page.get_by_role("button", name="Insert a block").last.click()
    page.get_by_role("option", name=label, exact=True).click()
    expect(stream_blocks(page)).to_have_count(before + 1)
    block = stream_blocks(page).nth(before)
    expect(block.get_by_role("heading", name=re.compile(f"^{label}"))).to_be_visible()
    return block


def publish(page) -> None:
    page.get_by_role("button", name="More actions").click()
    page.get_by_role("button", name="Publish", exact=True).click()


# --- the tests ------------------------------------------------------------------------------------


@pytest.fixture
def merchandiser(wagtail_site):
    """The "merchandiser" seed_demo creates (Merchandisers group: admin access, add/change/publish pages
    under the home page)."""
    return ensure_merchandiser(MERCHANDISER_PASSWORD)


@pytest.mark.django_db(transaction=True)
def test_a_merchandiser_composes_ai_blocks_and_a_shopper_sees_their_own_row(live_server, wagtail_site, merchandiser,
                                                                            shop):
    products, customers = shop
    assert train_recommendations() is not None
    shopper = customers["newcomer"]  # bought Coffee thing 0, viewed Coffee thing 1
    featured = products["garden2"]

    # The merchandiser builds and publishes the page.
    with chromium() as browser:
        page = new_page(browser)
        admin_login(page, live_server.url, "merchandiser", MERCHANDISER_PASSWORD)
        start_content_page(page, live_server.url, wagtail_site.pk, "Autumn picks")

        carousel = insert_block(page, "Recommendations")
        carousel.get_by_role("textbox", name="Title").fill("Picked for you")
        carousel.get_by_role("combobox", name="Strategy").select_option(label="Personalised for the shopper")
        carousel.get_by_role("spinbutton", name="Count").fill("4")
        carousel.get_by_role("combobox", name="Fallback").select_option(label="Trending")

        search_block = insert_block(page, "Semantic search")
        search_block.get_by_role("textbox", name="Title").fill("Gifts for coffee lovers")
        search_block.get_by_role("combobox", name="Mode").select_option(label="A fixed query, shown as products")
        search_block.get_by_role("textbox", name="Query").fill("gifts for coffee lovers")
        search_block.get_by_role("spinbutton", name="Count").fill("4")

        priced = insert_block(page, "Priced products")
        priced.get_by_role("textbox", name="Title").fill("This week's prices")
        priced.get_by_role("button", name="Choose product").click()
        chooser = page.get_by_role("dialog").filter(has=page.get_by_role("heading", name="Choose product"))
        chooser.get_by_label("Search term").fill(featured.title)
        chooser.get_by_role("link", name=featured.title, exact=True).click()
        expect(chooser).to_have_count(0)
        expect(page.locator(".modal-backdrop")).to_have_count(0)  # faded out: the editor screenshot is clear
        expect(priced.get_by_text(featured.title, exact=True)).to_be_visible()

        expect(stream_blocks(page)).to_have_count(3)
        shot(page, "01-editor-three-ai-blocks", height=3000)
        publish(page)
        # "created and published", or "has been published" when the editor's autosave created it first
        expect(page.get_by_role("status")).to_contain_text(
            re.compile(r"Page 'Autumn picks' (created and|has been) published\."))
        shot(page, "02-admin-published")

    content = ContentPage.objects.get(title="Autumn picks")
    assert content.live and content.owner.username == "merchandiser"
    assert [child.block_type for child in content.body] == ["recommendations", "semantic_search", "priced_products"]
    carousel_value, search_value, priced_value = (child.value for child in content.body)
    assert (carousel_value["title"], carousel_value["strategy"], carousel_value["count"],
            carousel_value["fallback"]) == ("Picked for you", "personalised", 4, "trending")
    assert (search_value["mode"], search_value["query"]) == ("curated", "gifts for coffee lovers")
    assert [p.pk for p in priced_value["products"]] == [featured.pk]
    page_url = live_server.url + content.get_url()
    carousel_id = content.body[0].id
    fragment_url = f"/fragments/{content.pk}/{carousel_id}/"
    surface = f"block:{carousel_id}"

    # The shopper's precomputed list, as the carousel should show it: available products, in order.
    mine = CustomerRecommendations.objects.get(customer=shopper)
    available = set(Product.objects.available().values_list("pk", flat=True))
    because = dict(zip(mine.product_ids, mine.because, strict=True))
    expected_ids = [pid for pid in mine.product_ids if pid in available][:4]
    titles = dict(Product.objects.values_list("pk", "title"))
    expected_reasons = [f"Because you viewed {titles[because[pid]]}" for pid in expected_ids]
    assert len(expected_ids) == 4 and all(because[pid] for pid in expected_ids)

    def carousel_beacon(response) -> bool:
        if not (response.url.endswith("/api/v1/events") and response.request.method == "POST"):
            return False
        return any(event["surface"] == surface for event in json.loads(response.request.post_data)["events"])

    with chromium() as browser:
        # Anyone: the shared trending row first; the anonymous visitor's own row has no history behind it
        # (personalised() falls back to what is popular), so no "because you viewed".
        page = new_page(browser)
        response = page.goto(page_url)
        html = response.text()
        assert f'data-fragment-url="{fragment_url}"' in html and 'data-strategy="trending"' in html
        expect(page.locator(".ai-carousel.is-personalised")).to_have_count(1)
        expect(page.locator("[data-fragment-url]")).to_have_count(0)
        expect(page.get_by_role("heading", name="Picked for you")).to_be_visible()
        expect(page.get_by_role("heading", name="Gifts for coffee lovers")).to_be_visible()
        expect(page.locator(".ai-search .product-card")).not_to_have_count(0)
        priced_card = page.locator(".ai-priced .priced-product")
        expect(priced_card).to_have_count(1)
        expect(priced_card.locator(".product-card__title")).to_have_text(featured.title)
        expect(priced_card.get_by_role("button", name="Add to cart")).to_be_visible()
        expect(page.get_by_text("Because you viewed")).to_have_count(0)
        shot(page, "03-page-anonymous")
        page.context.close()

        # The shopper, signed in in a fresh context.
        page = new_page(browser)
        sign_in(page, live_server.url, shopper)

        with page.expect_response(carousel_beacon) as beacon:
            response = page.goto(page_url)
            # First the shared fallback, rendered by the server with the address of the shopper's row…
            html = response.text()
            assert f'data-fragment-url="{fragment_url}"' in html and 'data-strategy="trending"' in html
            assert "Because you viewed" not in html
            # …then, once loaded, the shopper's own row swapped in.
            row = page.locator('.ai-carousel.is-personalised[data-strategy="personalised"]')
            expect(row).to_be_visible()
        expect(page.locator("[data-fragment-url]")).to_have_count(0)
        expect(row.get_by_role("heading", name="Picked for you")).to_be_visible()
        expect(row.locator(".carousel__item")).to_have_count(4)
        shown_ids = [int(pid) for pid in row.locator(".carousel__item").evaluate_all(
            "items => items.map(item => item.dataset.productId)")]
        assert shown_ids == expected_ids
        expect(row.locator(".carousel__reason")).to_have_text(expected_reasons)
        expect(row.locator(".product-card__title")).to_have_text([titles[pid] for pid in expected_ids])

        # The impression beacon reports exactly the shopper's row.
        assert beacon.value.status == 202
        sent = json.loads(beacon.value.request.post_data)["events"]
        assert sent == [{"event_type": "recommendation_impression", "product": pid, "surface": surface}
                        for pid in expected_ids]
        shot(page, "04-page-shopper-personalised")

    # Queued in Redis for the drain, attributed to the signed-in customer.
    queued = [json.loads(raw) for raw in redis_client().lrange(QUEUE_KEY, 0, -1)]
    impressions = [event for event in queued if event["event_type"] == "recommendation_impression"
                   and event["surface"] == surface and event["customer_id"] == shopper.pk]
    assert sorted(event["product_id"] for event in impressions) == sorted(expected_ids)


@pytest.mark.django_db(transaction=True)
def test_a_similar_carousel_without_a_product_is_refused(live_server, wagtail_site, merchandiser):
    with chromium() as browser:
        page = new_page(browser)
        admin_login(page, live_server.url, "merchandiser", MERCHANDISER_PASSWORD)
        start_content_page(page, live_server.url, wagtail_site.pk, "Like this one")
        carousel = insert_block(page, "Recommendations")
        carousel.get_by_role("textbox", name="Title").fill("More like this")
        carousel.get_by_role("combobox", name="Strategy").select_option(label="Similar to a chosen product")
        publish(page)

        expect(page.get_by_text(re.compile(r"could not be (created|saved|published) due to validation errors"))
               ).to_be_visible()
        carousel = stream_blocks(page).first
        expect(carousel.locator('[data-contentpath="product"]').get_by_text(SIMILAR_NEEDS_A_PRODUCT)).to_be_visible()
        expect(carousel.get_by_role("combobox", name="Strategy")).to_have_value("similar")
        shot(page, "05-editor-similar-without-product-refused", height=1600)

    assert not ContentPage.objects.filter(title="Like this one", live=True).exists()


def stored_events(timeout: float = 5.0, **filters) -> list[CustomerEvent]:
    """Drain the Redis queue into PostgreSQL until events matching ``filters`` are stored, for at most
    ``timeout`` seconds (a beacon answered 202 is queued; the drain is what a worker would run)."""
    deadline = time.monotonic() + timeout
    while True:
        drain_events()
        found = list(CustomerEvent.objects.filter(**filters))
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def stored_events_then_close(**filters) -> list[CustomerEvent]:
    try:
        return stored_events(**filters)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_a_carousel_under_a_running_experiment_tags_its_beacons_with_the_shoppers_variant(live_server, wagtail_site,
                                                                                         shop):
    """A carousel shown under a running A/B experiment: the visitor's own row is rendered in their
    variant, vitrine.js reports its impressions and clicks naming only the block's surface, and the
    server tags the stored events (and the visitor's exposure) with the variant it showed them there."""
    # Both variants trending: an anonymous visitor gets a full row whichever variant the hash gives.
    experiment = ExperimentFactory(variants=[("a", 50, "trending", True), ("b", 50, "trending", False)])
    content = wagtail_site.add_child(instance=ContentPage(title="Under test", slug="under-test", body=[
        {"type": "recommendations", "value": {"title": "Tested for you", "strategy": "trending", "count": 4,
                                              "category": None, "product": None, "fallback": "trending",
                                              "experiment": experiment.pk}}]))
    content.save_revision().publish()
    content.refresh_from_db()
    block_id = content.body[0].id
    surface = f"block:{block_id}"
    fragment_url = f"/fragments/{content.pk}/{block_id}/"
    page_path = content.get_url()

    def beacon_of(event_type):
        def matches(request) -> bool:
            if not (request.url.endswith("/api/v1/events") and request.method == "POST"):
                return False
            return any(event["event_type"] == event_type and event["surface"] == surface
                       for event in json.loads(request.post_data)["events"])
        return matches

    with chromium() as browser:
        # A desktop browser's user agent: "HeadlessChrome" is a bot to the experiments (control, untagged).
        page = new_page(browser, user_agent=BROWSER)
        with page.expect_response(lambda response: beacon_of("recommendation_impression")(response.request)) \
                as impression_beacon:
            html = page.goto(live_server.url + page_path).text()
            # The shared fallback is the same for everyone; the visitor's row, in their variant, is fetched.
            assert f'data-fragment-url="{fragment_url}"' in html
            row = page.locator(".ai-carousel.is-personalised")
            expect(row).to_be_visible()
        expect(row.locator(".carousel__item")).to_have_count(4)
        shown_ids = [int(pid) for pid in row.locator(".carousel__item").evaluate_all(
            "items => items.map(item => item.dataset.productId)")]
        visitor_cookie = next(c["value"] for c in page.context.cookies() if c["name"] == VISITOR_COOKIE)
        shot(page, "06-page-carousel-under-experiment")

        # The click's beacon is a keepalive fetch that outlives the page it leaves: its response may come
        # after the next page has replaced this one, so the request is what the test waits for, and the
        # stored click (below, while the browser is still open) is the proof it was accepted.
        with page.expect_request(beacon_of("recommendation_click")) as click_beacon:
            row.locator(".product-card__link").first.click()
        expect(page).not_to_have_url(re.compile(re.escape(page_path) + "$"))
        # (status, events sent) of the impression beacon, the events sent by the click's
        impression = impression_beacon.value.status, json.loads(impression_beacon.value.request.post_data)["events"]
        click = json.loads(click_beacon.value.post_data)["events"]
        cookies = HttpRequest()
        cookies.COOKIES[VISITOR_COOKIE] = visitor_cookie
        visitor = cookies.get_signed_cookie(VISITOR_COOKIE, salt=VisitorMiddleware.salt)  # as VisitorMiddleware reads
        # Django refuses the database inside Playwright's event loop: wait for the click from a thread.
        with ThreadPoolExecutor(1) as pool:
            clicks = pool.submit(stored_events_then_close, timeout=15, event_type="recommendation_click",
                                 anonymous_id=visitor, surface=surface).result()

    variant = experiments.hashed_variant(experiments.definition(experiment.key), visitor).key
    expected = {experiment.key: variant}

    # What the browser sent: the products and the block's surface, no variant (it is not the browser's say).
    assert impression == (202, [{"event_type": "recommendation_impression", "product": pid, "surface": surface}
                                for pid in shown_ids])
    assert click == [{"event_type": "recommendation_click", "product": shown_ids[0], "surface": surface}]

    # What was stored, for this visitor: impressions, the click and the exposure, all in the variant the
    # server showed them.
    impressions = stored_events(event_type="recommendation_impression", anonymous_id=visitor, surface=surface)
    assert sorted(event.product_id for event in impressions) == sorted(shown_ids)
    assert all(event.experiments == expected for event in impressions)
    assert [(event.product_id, event.experiments) for event in clicks] == [(shown_ids[0], expected)]
    exposures = stored_events(event_type="experiment_exposure", anonymous_id=visitor)
    assert [(event.surface, event.experiments) for event in exposures] == [(f"experiment:{experiment.key}", expected)]
