"""Fragment keys name every version of the data a block shows, are read once per request, never mix two
shoppers' fragments, and previews are never cached."""

import pytest

from ai.recommendations.refresh import refresh_visitor_recommendations
from blocks import fragments
from commerce.catalogue.models import PriceList
from commerce.catalogue.services import set_current_price
from tests.factories import ProductFactory, embedding, shopper_request, stored_event

pytestmark = pytest.mark.django_db


def live_context(page, request=None, block_id="b1") -> dict:
    return {"page": page, "block_id": block_id, "request": request or shopper_request()}


def test_versions_are_read_once_per_request(django_capture_on_commit_callbacks):
    # given a request whose versions were read
    request = shopper_request()
    first = fragments.request_versions(request)
    mug = ProductFactory(base_price=10)
    # when the catalogue changes during the request
    with django_capture_on_commit_callbacks(execute=True):
        set_current_price(mug.pk, mug.base_price - 1, expected=mug.base_price)
    # then the request keeps the versions it started with; the next request sees the new one
    assert fragments.request_versions(request) is first
    assert fragments.request_versions(shopper_request())["catalogue"] != first["catalogue"]


def test_a_shared_key_changes_with_the_catalogue_and_the_blocks_own_data(
        wagtail_site, publish, django_capture_on_commit_callbacks):
    # given a live page
    page, _ = publish(("heading", {"text": "Hello", "level": "h2"}))
    before = fragments.shared_key(live_context(page), "model-1")
    # when a price changes, or the block's own data (a model, an index version) differs
    mug = ProductFactory(base_price=10)
    with django_capture_on_commit_callbacks(execute=True):
        set_current_price(mug.pk, mug.base_price - 1, expected=mug.base_price)
    after_price = fragments.shared_key(live_context(page), "model-1")
    other_data = fragments.shared_key(live_context(page), "model-2")
    # then each gives a key of its own; the same data gives the same key, whoever asks
    assert len({before, after_price, other_data}) == 3
    assert after_price == fragments.shared_key(live_context(page), "model-1")


def test_a_preview_of_a_published_page_is_rendered_every_time(wagtail_site, publish):
    # given a live page, and an editor's preview of its draft (Wagtail marks the preview's request)
    page, [block_id] = publish(("heading", {"text": "Hello", "level": "h2"}))
    preview = shopper_request()
    preview.is_preview = True
    # then the preview has no shared key, though its page has a live revision; shoppers' views do
    assert fragments.shared_key(live_context(page, preview, block_id), "") is None
    assert fragments.shared_key(live_context(page, shopper_request(), block_id), "") is not None


def test_previews_and_unsaved_pages_are_rendered_every_time(wagtail_site):
    # given a page that was never published
    wagtail_site.live_revision = None
    renders = []
    # when its block renders twice
    for _ in range(2):
        fragments.cached(fragments.shared_key(live_context(wagtail_site), ""), 60,
                         lambda: renders.append(1) or "<p>block</p>")
    # then nothing was cached
    assert fragments.shared_key(live_context(wagtail_site), "") is None
    assert len(renders) == 2


def test_a_shared_fragment_is_rendered_once(wagtail_site, publish):
    page, _ = publish(("heading", {"text": "Hello", "level": "h2"}))
    renders = []
    html = [fragments.cached(fragments.shared_key(live_context(page), ""), 60,
                             lambda: renders.append(1) or "<p>block</p>") for _ in range(3)]
    assert html == ["<p>block</p>"] * 3 and len(renders) == 1


def test_shoppers_on_different_price_lists_never_share_a_fragment(wagtail_site, publish):
    # given a live page, and a shopper a pricing experiment keeps on the base price list
    page, [block_id] = publish(("heading", {"text": "Hello", "level": "h2"}))
    holdout = shopper_request()
    holdout._vitrine_price_list = PriceList.BASE  # what price_list_for asked the experiment, once
    # then the block's shared HTML is kept apart from the current price list's
    current_key = fragments.shared_key(live_context(page, shopper_request(), block_id), "")
    assert fragments.shared_key(live_context(page, holdout, block_id), "") != current_key


def test_personal_keys_never_mix_two_shoppers(wagtail_site, publish):
    page, [block_id] = publish(("heading", {"text": "Hello", "level": "h2"}))
    one, other = shopper_request(), shopper_request()
    again = shopper_request(visitor=one.visitor_id)
    keys = [fragments.personal_key(request, page, block_id) for request in (one, other, again)]
    assert keys[0] != keys[1] and keys[0] == keys[2]


def test_a_refreshed_list_gives_the_shopper_a_new_personal_key(wagtail_site, publish, shop):
    products, _ = shop
    for i in range(5):
        embedding(products[f"garden{i}"], (1, 1.0), (10 + i, 0.2))
    page, [block_id] = publish(("heading", {"text": "Hello", "level": "h2"}))
    # given a visitor's key, and their list refreshed after a view
    visitor = shopper_request().visitor_id
    before = fragments.personal_key(shopper_request(visitor=visitor), page, block_id)
    stored_event("view", products["garden0"], visitor=visitor)
    refresh_visitor_recommendations(visitor)
    # when their next request builds the key
    after = fragments.personal_key(shopper_request(visitor=visitor), page, block_id)
    # then it is a new one, kept until the list is written again
    assert after != before
    assert fragments.personal_key(shopper_request(visitor=visitor), page, block_id) == after
    refresh_visitor_recommendations(visitor)
    assert fragments.personal_key(shopper_request(visitor=visitor), page, block_id) not in {before, after}
