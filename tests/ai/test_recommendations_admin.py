import datetime as dt
import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from ai.recommendations.models import RecommendationModel, RecommendationRule
from ai.recommendations.training import train_recommendations
from tests.factories import RecommendationRuleFactory, UserFactory, editor

pytestmark = pytest.mark.django_db


def test_dashboard_warns_when_no_model_has_been_trained(admin_client, wagtail_site):
    page = admin_client.get("/admin/").content.decode()
    assert "recommendation-health" in page
    assert "No recommendation model has been trained" in page


def test_dashboard_shows_age_coverage_and_last_training(admin_client, wagtail_site, shop):
    train_recommendations()
    page = admin_client.get("/admin/").content.decode()
    assert "Last training" in page and "Catalogue coverage" in page and "Customers with a list" in page
    assert "help-warning" not in page.split("recommendation-health")[1].split("</section>")[0]


def test_dashboard_warns_about_a_stale_model(admin_client, wagtail_site, shop):
    model = train_recommendations()
    RecommendationModel.objects.filter(pk=model.pk).update(trained_at=timezone.now() - dt.timedelta(hours=9))
    page = admin_client.get("/admin/").content.decode()
    assert "more than twice the 4 h cadence" in page and "9.0 h old" in page


def test_editors_without_the_permission_do_not_see_the_panel(client, wagtail_site):
    editor = UserFactory()
    group = Group.objects.create(name="Content editors")
    group.permissions.add(Permission.objects.get(codename="access_admin"))
    editor.groups.add(group)
    client.force_login(editor)
    page = client.get("/admin/").content.decode()
    assert client.get("/admin/").status_code == 200
    assert "recommendation-health" not in page


# --- merchandising rules ------------------------------------------------------------------------

RULES = "/admin/snippets/recommendations/recommendationrule/"
PREVIEW = "/admin/recommendations/preview/"


def rule_form(**overrides) -> dict:
    """The admin's add form for a home-row rule doing nothing yet."""
    return {"name": "Garden week", "placements": ["home"], "pin_product": "", "pin_position": "",
            "hidden_products": [], "hidden_categories": [], "boost_category": "", "boost_attribute_name": "",
            "boost_attribute_value": "", "boost_percent": "0", "exclude_bought_within_days": "", "starts_at": "",
            "ends_at": "", "enabled": "on"} | overrides


def preview_tables(html: str) -> dict[str, list[tuple[int, str]]]:
    """Each preview table ("without", "with") as (product id, its rules cell) in order."""
    return {name: [(int(pid), rules.strip()) for pid, rules in re.findall(
        r'<tr data-product-id="(\d+)">.*?<td>[^<]*</td>\s*<td>([^<]*)</td>\s*</tr>', table, re.S)]
        for name, table in re.findall(r'<table class="listing" data-list="(\w+)">(.*?)</table>', html, re.S)}


def test_a_rule_is_added_with_its_placements_and_hidden_products(admin_client, shop):
    products, _ = shop

    response = admin_client.post(f"{RULES}add/", rule_form(placements=["home", "trending"],
                                                            hidden_products=[products["coffee0"].pk]))

    assert response.status_code == 302, response.content.decode()[-2000:]
    rule = RecommendationRule.objects.get()
    assert rule.placements == ["home", "trending"] and list(rule.hidden_products.all()) == [products["coffee0"]]


@pytest.mark.parametrize(("fields", "error"), [
    ({}, "The rule does nothing"),
    ({"pin_position": "2"}, "Choose the product to pin"),
    ({"boost_percent": "50"}, "Choose the category or the attribute value"),
    ({"placements": []}, "This field is required."),
    ({"exclude_in_cart": "on", "starts_at": "2026-12-08 10:00", "ends_at": "2026-12-07 10:00"},
     "The rule must end after it starts."),
])
def test_a_rule_that_cannot_work_is_refused_with_a_reason(admin_client, shop, fields, error):
    response = admin_client.post(f"{RULES}add/", rule_form(**fields))

    assert response.status_code == 200
    assert error in response.content.decode()
    assert not RecommendationRule.objects.exists()


def test_the_hidden_products_being_edited_are_checked_not_the_stored_ones(admin_client, shop):
    products, _ = shop

    response = admin_client.post(f"{RULES}add/", rule_form(pin_product=products["coffee0"].pk, pin_position="1",
                                                            hidden_products=[products["coffee0"].pk]))

    assert "This rule hides the product it pins." in response.content.decode()


def test_the_list_finds_rules_by_name_and_filters_them_by_placement(admin_client, shop):
    RecommendationRuleFactory(name="Cart clean-up", placements=["cart"], exclude_in_cart=True)
    RecommendationRuleFactory(name="Trending sale", placements=["trending", "home"], exclude_zero_price=True)

    searched = admin_client.get(RULES, {"q": "clean"}).content.decode()
    filtered = admin_client.get(RULES, {"placement": "trending"}).content.decode()

    assert "Cart clean-up" in searched and "Trending sale" not in searched
    assert "Trending sale" in filtered and "Cart clean-up" not in filtered
    assert "Carousel: Trending" in filtered and "Home list (pages and the API)" in filtered


def test_the_preview_shows_a_row_without_and_with_the_rules_and_why(admin_client, shop,
                                                                     django_capture_on_commit_callbacks):
    # given a pin and a hidden product on the home row
    products, _ = shop
    with django_capture_on_commit_callbacks(execute=True):
        RecommendationRuleFactory(name="Garden first", pin_product=products["garden3"], pin_position=1)
        RecommendationRuleFactory(name="No coffee 0", hidden_products=[products["coffee0"]])

    # when
    response = admin_client.get(PREVIEW, {"placement": "home"})

    # then
    html = response.content.decode()
    tables = preview_tables(html)
    assert response.status_code == 200
    assert products["coffee0"].pk in [pid for pid, _ in tables["without"]]
    assert products["coffee0"].pk not in [pid for pid, _ in tables["with"]]
    assert tables["with"][0] == (products["garden3"].pk, "pinned at 1 (Garden first)")
    assert {rules for _, rules in tables["without"]} == {"model score"}
    assert f'data-left-out-id="{products["coffee0"].pk}"' in html and "hidden (No coffee 0)" in html
    assert '<th scope="row">' in html and "<caption>" in html


def test_the_preview_of_a_product_row_needs_the_product(admin_client, shop):
    response = admin_client.get(PREVIEW, {"placement": "product"})

    assert response.status_code == 400
    assert "choose the product" in response.content.decode()


def test_the_preview_for_a_customer_leaves_out_what_is_in_their_cart(admin_client, shop,
                                                                     django_capture_on_commit_callbacks):
    from commerce.orders.models import Cart, CartLine

    products, customers = shop
    customer = customers["garden2"]
    first = admin_client.get(PREVIEW, {"placement": "home", "customer": customer.pk}).content.decode()
    in_cart_id = preview_tables(first)["without"][0][0]
    CartLine.objects.create(cart=Cart.objects.create(customer=customer), product_id=in_cart_id, quantity=1,
                            seen_unit_price=1)
    with django_capture_on_commit_callbacks(execute=True):
        RecommendationRuleFactory(name="Not in the cart", exclude_in_cart=True)

    html = admin_client.get(PREVIEW, {"placement": "home", "customer": customer.pk}).content.decode()

    assert in_cart_id not in [pid for pid, _ in preview_tables(html)["with"]]
    assert "in the cart (Not in the cart)" in html


def test_an_editor_without_the_view_permission_cannot_preview(client, shop):
    editor(client)

    response = client.get(PREVIEW, {"placement": "home"})

    assert response.status_code in (302, 403)
