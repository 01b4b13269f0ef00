import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from ai.pricing import review, serving
from ai.pricing.models import PriceChange, PriceHistory
from commerce.catalogue.models import Product
from commerce.catalogue.services import product_price
from tests.factories import CategoryFactory, PriceChangeFactory, PricingRuleFactory, ProductFactory, user_with

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
TEN = Decimal("10.00")


def price_of(product) -> Decimal:
    return Product.objects.get(pk=product.pk).price


@pytest.fixture
def pending():
    """A pending 10.00 → 10.80 change under the default rule (±20 %, 10 % a day)."""
    PricingRuleFactory()
    return PriceChangeFactory(product=ProductFactory(base_price=TEN))


# --- approvals and permissions -------------------------------------------------------------------------------


def test_an_approver_applies_pending_changes_and_who_and_when_are_recorded(pending):
    editor = user_with("approve_pricechange")
    second = PriceChangeFactory(product=ProductFactory(base_price=Decimal("20.00")), new_price=Decimal("21.00"))

    outcome = review.approve_changes([pending.pk, second.pk], editor, now=NOW)

    assert outcome == review.ApprovalOutcome(applied=2, expired=0)
    assert price_of(pending.product) == Decimal("10.80")
    assert price_of(second.product) == Decimal("21.00")
    pending.refresh_from_db()
    assert (pending.status, pending.decided_by, pending.decided_at) == (PriceChange.Status.APPLIED, editor, NOW)
    assert set(PriceHistory.objects.values_list("source", "changed_by")) == {(PriceHistory.Source.APPROVED, editor.pk)}


def test_an_approved_change_records_the_lowest_price_of_the_30_days_before_it(pending):
    # given the product sold at 9.50 until five days ago, when it went up to its current 10.00
    PriceHistory.objects.create(product=pending.product, previous_price=Decimal("9.50"), price=TEN,
                                changed_at=NOW - dt.timedelta(days=5), source=PriceHistory.Source.MANUAL)
    # when its 10.00 → 10.80 change is approved
    review.approve_changes([pending.pk], user_with("approve_pricechange"), now=NOW)
    # then the prior price a reduction would be announced against is the 30-day low
    assert Product.objects.get(pk=pending.product.pk).prior_price == Decimal("9.50")


def test_only_editors_with_the_pricing_permission_approve_or_reject(pending):
    merchandiser = user_with("view_pricechange", "change_product")

    with pytest.raises(PermissionDenied):
        review.approve_changes([pending.pk], merchandiser)
    with pytest.raises(PermissionDenied):
        review.reject_changes([pending.pk], merchandiser)

    pending.refresh_from_db()
    assert pending.status == PriceChange.Status.PENDING and price_of(pending.product) == TEN


def test_rejecting_keeps_the_price_and_records_the_decision(pending):
    editor = user_with("approve_pricechange")
    assert review.reject_changes([pending.pk], editor, now=NOW) == 1
    pending.refresh_from_db()
    assert (pending.status, pending.decided_by) == (PriceChange.Status.REJECTED, editor)
    assert price_of(pending.product) == TEN
    assert review.approve_changes([pending.pk], editor).applied == 0  # decided: nothing left to approve


def test_a_change_that_no_longer_fits_expires_instead_of_applying(pending):
    moved_meanwhile = PriceChangeFactory(product=ProductFactory(base_price=TEN))
    Product.objects.filter(pk=moved_meanwhile.product_id).update(price=Decimal("9.50"))
    # A change was applied an hour ago: 10.80 would now be 12.6 % above the 9.59 of an hour ago.
    PriceHistory.objects.create(product=pending.product, previous_price=Decimal("9.59"), price=TEN,
                                changed_at=NOW - dt.timedelta(hours=1), source=PriceHistory.Source.AUTOMATIC)

    outcome = review.approve_changes([pending.pk, moved_meanwhile.pk], user_with("approve_pricechange"), now=NOW)

    assert outcome == review.ApprovalOutcome(applied=0, expired=2)
    assert set(PriceChange.objects.values_list("status", flat=True)) == {PriceChange.Status.EXPIRED}
    assert price_of(pending.product) == TEN


def test_prices_set_outside_the_engine_go_into_the_ledger_unattributed():
    mug = ProductFactory()

    [entry] = review.record_manual_prices([(mug.pk, TEN, Decimal("9.00"))], reason="catalogue import")

    assert PriceHistory.objects.get() == entry
    assert (entry.previous_price, entry.price, entry.source, entry.reason, entry.changed_by) == (
        TEN, Decimal("9.00"), PriceHistory.Source.MANUAL, "catalogue import", None)


# --- a rule's bounds -----------------------------------------------------------------------------------------


def test_enforcing_a_rules_bounds_moves_only_the_products_it_governs():
    shelf = CategoryFactory()
    dear, cheap, own_rule = (ProductFactory(category=shelf, base_price=TEN, price=Decimal("13.00")),
                             ProductFactory(category=shelf, base_price=TEN, price=Decimal("7.00")),
                             ProductFactory(category=shelf, base_price=TEN, price=Decimal("13.00")))
    PricingRuleFactory(product=own_rule, max_markup_percent=Decimal("50"))
    rule = PricingRuleFactory(category=shelf)  # 8.00–12.00

    assert review.enforce_rule_bounds(rule, now=NOW) == 2

    assert [price_of(p) for p in (dear, cheap, own_rule)] == [Decimal("12.00"), Decimal("8.00"), Decimal("13.00")]
    assert [Product.objects.get(pk=p.pk).prior_price for p in (dear, cheap, own_rule)] == [
        Decimal("13.00"), Decimal("7.00"), None]
    assert set(PriceHistory.objects.values_list("source", "reason")) == {
        (PriceHistory.Source.RULE_BOUNDS, f"rule “{rule.name}” allows 12.00 at most"),
        (PriceHistory.Source.RULE_BOUNDS, f"rule “{rule.name}” allows 8.00 at least"),
    }


def test_a_disabled_rule_or_an_engaged_kill_switch_enforces_no_bounds():
    dear = ProductFactory(base_price=TEN, price=Decimal("13.00"))
    disabled = PricingRuleFactory(enabled=False)

    assert review.enforce_rule_bounds(disabled, now=NOW) == 0
    review.engage_kill_switch(user_with("change_killswitch"), now=NOW)  # back to base: outside 8.50–9.50 now
    enforced = PricingRuleFactory(product=dear, max_price=Decimal("9.50"), min_price=Decimal("8.50"))
    assert review.enforce_rule_bounds(enforced, now=NOW) == 0

    assert price_of(dear) == TEN
    assert not PriceHistory.objects.filter(source=PriceHistory.Source.RULE_BOUNDS).exists()


# --- the kill switch ---------------------------------------------------------------------------------------------


def test_the_kill_switch_returns_every_product_to_base_and_cancels_what_is_pending(
        pending, django_capture_on_commit_callbacks):
    moved = ProductFactory(base_price=TEN, price=Decimal("11.50"))
    untouched = ProductFactory(base_price=TEN)
    assert product_price(moved.pk).price == Decimal("11.50")
    operator = user_with("change_killswitch")

    with django_capture_on_commit_callbacks(execute=True):
        assert review.engage_kill_switch(operator, now=NOW) == 1

    assert price_of(moved) == TEN and price_of(untouched) == TEN
    assert product_price(moved.pk).price == TEN
    history = PriceHistory.objects.get()
    assert (history.source, history.previous_price, history.changed_by) == (
        PriceHistory.Source.KILL_SWITCH, Decimal("11.50"), operator)
    pending.refresh_from_db()
    assert pending.status == PriceChange.Status.CANCELLED
    with pytest.raises(review.PricingStopped):
        review.approve_changes([], user_with("approve_pricechange"))

    review.release_kill_switch(operator)

    assert not serving.kill_switch_engaged()


def test_only_the_kill_switch_permission_operates_it():
    moved = ProductFactory(base_price=TEN, price=Decimal("11.50"))

    with pytest.raises(PermissionDenied):
        review.engage_kill_switch(user_with("approve_pricechange"))

    assert not serving.kill_switch_engaged()
    assert price_of(moved) == Decimal("11.50")


def test_the_kill_switch_clamps_a_base_price_outside_its_rules_bounds_into_them():
    # given a product sold at 180.00 whose base price (205.00) is above its rule's maximum price (190.00)
    product = ProductFactory(base_price=Decimal("205.00"), price=Decimal("180.00"))
    rule = PricingRuleFactory(product=product, max_price=Decimal("190.00"), max_markup_percent=None)
    # when dynamic pricing is stopped
    assert review.engage_kill_switch(user_with("change_killswitch"), now=NOW) == 1
    # then it sells at the bound, never above it, and one history row says why
    assert price_of(product) == Decimal("190.00")
    history = PriceHistory.objects.get()
    assert (history.previous_price, history.price, history.source) == (
        Decimal("180.00"), Decimal("190.00"), PriceHistory.Source.KILL_SWITCH)
    assert history.reason == (f"dynamic pricing stopped; base price 205.00 is outside rule “{rule.name}”, "
                              "which allows 190.00")
