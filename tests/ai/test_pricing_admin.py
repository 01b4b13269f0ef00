import datetime as dt
import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest

from ai.pricing.models import KillSwitch, PriceChange, PriceHistory, PricingRule
from commerce.catalogue.models import Product
from tests.factories import CategoryFactory, PriceChangeFactory, PricingRuleFactory, ProductFactory, editor

pytestmark = pytest.mark.django_db

RULES = "/admin/snippets/pricing/pricingrule/"
CHANGES = "/admin/snippets/pricing/pricechange/"
KILL_SWITCH = "/admin/pricing/kill-switch/"


def bulk(action: str, *changes) -> str:
    ids = "&".join(f"id={change.pk}" for change in changes)
    return f"/admin/bulk/pricing/pricechange/{action}/?{ids}&next={CHANGES}"


def test_rules_are_listed_filterable_and_paginated(admin_client):
    PricingRuleFactory(name="Global default")
    PricingRuleFactory(name="Mugs", category=CategoryFactory(name="Mugs"), enabled=False)

    listing = admin_client.get(RULES).content.decode()
    assert "Global default" in listing and "Category: Mugs" in listing

    disabled = admin_client.get(RULES, {"enabled": "false"}).content.decode()
    assert "Mugs" in disabled and "Global default" not in disabled


def test_the_rule_form_refuses_a_rule_without_bounds(admin_client):
    response = admin_client.post(f"{RULES}add/", {
        "name": "Unbounded", "max_change_percent": "10", "interval_hours": "24", "auto_approve_percent": "2",
        "strategy": "rules", "enabled": "on",
    })
    assert response.status_code == 200
    content = response.content.decode()
    assert "Set a lower bound" in content and "Set an upper bound" in content
    assert not PricingRule.objects.exists()

    admin_client.post(f"{RULES}add/", {
        "name": "Bounded", "max_discount_percent": "20", "max_price": "99.00", "max_change_percent": "10",
        "interval_hours": "24", "auto_approve_percent": "2", "strategy": "rules", "enabled": "on",
    })
    assert PricingRule.objects.get().name == "Bounded"


def test_the_approval_queue_lists_pending_changes_with_decision_buttons_for_approvers(client):
    waiting = PriceChangeFactory(product=ProductFactory(title="Speckled mug"))
    PriceChangeFactory(product=ProductFactory(title="Waffle towel"), status=PriceChange.Status.APPLIED)
    editor(client, "approve_pricechange")

    page = client.get(CHANGES, {"status": "pending"}).content.decode()

    assert "Speckled mug" in page and "Waffle towel" not in page
    assert bulk("approve", waiting).split("&next")[0] in page


def test_viewers_without_the_permission_see_the_queue_but_get_no_decision_buttons(client):
    waiting = PriceChangeFactory()
    editor(client, "view_pricechange")

    page = client.get(CHANGES).content.decode()

    assert str(waiting.product) in page
    assert f"/approve/?id={waiting.pk}" not in page  # no row buttons (the bulk bar refuses them, see below)
    assert client.get(f"{CHANGES}edit/{waiting.pk}/").status_code in (302, 403)  # never edited through a form


def test_bulk_approve_applies_the_selected_changes(client):
    PricingRuleFactory()
    first, second = PriceChangeFactory(), PriceChangeFactory()
    user = editor(client, "approve_pricechange")

    confirm = client.get(bulk("approve", first, second))
    assert confirm.status_code == 200 and "Approve 2 price changes?" in confirm.content.decode()
    response = client.post(bulk("approve", first, second))

    assert response.status_code == 302
    assert set(PriceChange.objects.values_list("status", "decided_by")) == {(PriceChange.Status.APPLIED, user.pk)}
    assert Product.objects.get(pk=first.product_id).price == first.new_price
    assert PriceHistory.objects.count() == 2


def test_bulk_reject_keeps_prices(client):
    change = PriceChangeFactory()
    editor(client, "approve_pricechange")

    client.post(bulk("reject", change))

    change.refresh_from_db()
    assert change.status == PriceChange.Status.REJECTED
    assert Product.objects.get(pk=change.product_id).price == change.previous_price


def test_bulk_approve_by_an_editor_without_the_permission_changes_nothing(client):
    PricingRuleFactory()
    change = PriceChangeFactory()
    editor(client, "view_pricechange", "change_product")

    confirm = client.get(bulk("approve", change)).content.decode()
    client.post(bulk("approve", change))

    assert "Not yours to decide" in confirm
    change.refresh_from_db()
    assert change.status == PriceChange.Status.PENDING
    assert Product.objects.get(pk=change.product_id).price == change.previous_price


def test_the_kill_switch_page_needs_its_permission(client):
    editor(client, "approve_pricechange")
    assert client.get(KILL_SWITCH).status_code in (302, 403)


def test_the_kill_switch_page_stops_and_resumes_dynamic_pricing(client):
    product = ProductFactory(base_price=Decimal("10.00"), price=Decimal("11.00"))
    editor(client, "change_killswitch")
    running = client.get(KILL_SWITCH).content.decode()
    assert "Dynamic pricing is running" in running
    assert "Rule bounds still apply" in running  # what stopping means for a base price outside a rule's bounds

    stopped = client.post(KILL_SWITCH, {"action": "stop"}, follow=True).content.decode()

    assert "Dynamic pricing is stopped" in stopped and "1 products are back at their base price" in stopped
    assert Product.objects.get(pk=product.pk).price == Decimal("10.00")
    client.post(KILL_SWITCH, {"action": "resume"})
    assert not KillSwitch.objects.get(pk=1).engaged


def test_the_pricing_menu_shows_the_kill_switch_only_to_its_operators(client):
    editor(client, "view_pricingrule", "change_killswitch")
    assert KILL_SWITCH in client.get("/admin/").content.decode()
    client.logout()
    editor(client, "view_pricingrule")
    assert KILL_SWITCH not in client.get("/admin/").content.decode()


def test_the_product_edit_page_has_a_price_history_chart(admin_client):
    product = ProductFactory(title="Speckled mug", base_price=Decimal("10.00"), price=Decimal("10.50"))
    PricingRuleFactory(name="Global default")
    PriceHistory.objects.create(product=product, previous_price=Decimal("10.00"), price=Decimal("10.50"),
                                changed_at=dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC),
                                source=PriceHistory.Source.AUTOMATIC, reason="raise 5%: sold 12 vs 4.0/day")

    page = admin_client.get(f"/admin/snippets/catalogue/product/edit/{product.pk}/").content.decode()

    assert "Price history" in page and '<svg class="price-history-chart"' in page
    assert "raise 5%: sold 12 vs 4.0/day" in page
    assert "Governed by the pricing rule <strong>Global default</strong>" in page and "between 8.00 and 12.00" in page


def test_the_new_product_page_renders_without_a_history(admin_client):
    CategoryFactory()
    page = admin_client.get("/admin/snippets/catalogue/product/add/").content.decode()
    assert "The price history starts once the product is saved." in page


class FormFields(HTMLParser):
    """The fields of a page's main form as a browser would submit them (inputs, checked boxes, selects
    with their selected options, textareas)."""

    def __init__(self):
        super().__init__()
        self.data, self._select, self._textarea = {}, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button", "file"):
            if attrs.get("type") not in ("checkbox", "radio") or "checked" in attrs:
                self.data[name] = attrs.get("value", "on" if attrs.get("type") == "checkbox" else "")
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in attrs:
            self.data[self._select] = attrs.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data


def submitted_form(client, url: str, **changes) -> dict:
    parser = FormFields()
    parser.feed(client.get(url).content.decode())
    return {key: value for key, value in parser.data.items() if key != "csrfmiddlewaretoken"} | changes


def test_an_editor_changing_a_price_on_the_product_is_in_the_price_history_with_their_name(admin_client):
    product = ProductFactory(title="Speckled mug", base_price=Decimal("10.00"), price=Decimal("10.00"))
    url = f"/admin/snippets/catalogue/product/edit/{product.pk}/"

    response = admin_client.post(url, submitted_form(admin_client, url, price="9.25"))
    admin_client.post(url, submitted_form(admin_client, url, title="Speckled mug, large"))  # price unchanged

    assert response.status_code == 302, response.content.decode()[-2000:]
    [entry] = PriceHistory.objects.filter(product=product)
    assert (entry.previous_price, entry.price, entry.source) == (Decimal("10.00"), Decimal("9.25"), "manual")
    assert entry.changed_by.username == "admin"


def test_the_rules_listing_summarises_bounds_pace_and_approval_in_a_few_columns(admin_client):
    PricingRuleFactory(name="Bedding: approve every change", max_discount_percent=Decimal("15"),
                       max_markup_percent=None, max_price=Decimal("90.00"), max_change_percent=Decimal("5"),
                       interval_hours=24, auto_approve_percent=Decimal("0"))

    page = admin_client.get(RULES).content.decode()
    listing = page[page.index("<table class=\"listing"):]  # the filters above name every strategy in full

    assert "−15% to 90.00" in listing
    assert "±5% per 24\N{NO-BREAK SPACE}h" in listing
    assert "none" in listing and "Rule-based" in listing
    assert "demand trend and stock" not in listing  # the strategy's explanation belongs to the form
    assert "Max discount percent" not in listing  # one "Price bounds" column, not four raw ones


def test_the_rules_listing_shows_enabled_as_a_tick_or_a_cross_read_as_enabled_or_disabled(admin_client):
    PricingRuleFactory(name="On", enabled=True)
    PricingRuleFactory(name="Off", enabled=False, category=CategoryFactory())

    page = admin_client.get(RULES).content.decode()
    listing = re.sub(r"\s+", " ", page[page.index('<table class="listing'):])

    assert "icon-check" in listing and "icon-cross" in listing
    assert '<span class="w-sr-only"> Enabled </span>' in listing
    assert '<span class="w-sr-only"> Disabled </span>' in listing
    assert "True" not in listing and "False" not in listing


def test_the_approval_queue_bulk_bar_offers_approve_and_reject_but_not_delete(admin_client):
    PriceChangeFactory()

    page = admin_client.get(CHANGES).content.decode()

    assert "/admin/bulk/pricing/pricechange/approve/" in page
    assert "/admin/bulk/pricing/pricechange/reject/" in page
    assert "/admin/bulk/pricing/pricechange/delete/" not in page
