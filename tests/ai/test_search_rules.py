import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from ai.search.models import QueryRule
from ai.search.serving import refresh_curated_results
from demo.accounts import ensure_merchandiser
from tests.factories import QueryRuleFactory, editor

pytestmark = pytest.mark.django_db

API = "/api/v1/search"
SNIPPETS = "/admin/snippets/search/queryrule/"


def found(response) -> list[int]:
    return [result["id"] for result in response.json()["results"]]


def on_page(response) -> list[int]:
    return [int(pid) for pid in re.findall(r'<div data-product-id="(\d+)"', response.content.decode())]


def rule_form(**overrides) -> dict:
    """The admin's add form for a rule pinning nothing yet: give it products and the like."""
    return {"name": "Coffee pins", "match": "exact", "query": "  Coffee ", "action": "pin", "products": [],
            "position": "1", "category": "", "attribute_name": "", "attribute_value": "", "boost_percent": "100",
            "redirect_page": "", "redirect_url": "", "starts_at": "", "ends_at": "", "enabled": "on"} | overrides


def preview_lists(html: str) -> dict[str, list[tuple[int, str]]]:
    """Each preview list ("without", "with") as (product id, its reasons) in order."""
    lists = {}
    for name, section in re.findall(r'<section data-list="(\w+)">(.*?)</section>', html, re.S):
        lists[name] = [(int(pid), reasons.strip()) for pid, reasons in re.findall(
            r'<li data-product-id="(\d+)">.*?<div class="reasons">(.*?)</div>', section, re.S)]
    return lists


# --- what shoppers get ----------------------------------------------------------------------------


def test_a_pinned_product_leads_the_api_results_even_if_the_query_does_not_find_it(catalogue):
    QueryRuleFactory(action="pin", products=[catalogue["trowel"]], position=1)

    results = found(Client().get(API, {"q": "coffee"}))

    assert results == [catalogue["trowel"].pk, catalogue["dripper"].pk, catalogue["kettle"].pk]


def test_a_pin_moves_a_found_product_to_its_position_on_the_search_page(catalogue):
    QueryRuleFactory(action="pin", products=[catalogue["kettle"]], position=1)

    results = on_page(Client().get("/search/", {"q": "coffee"}))

    assert results == [catalogue["kettle"].pk, catalogue["dripper"].pk]


def test_a_pin_adds_no_product_to_a_search_the_shopper_filtered(catalogue):
    QueryRuleFactory(action="pin", products=[catalogue["trowel"]], position=1)

    results = found(Client().get(API, {"q": "coffee", "category": catalogue["dripper"].category_id}))

    assert catalogue["trowel"].pk not in results


def test_a_hidden_product_is_not_in_the_results(catalogue):
    QueryRuleFactory(action="hide", products=[catalogue["dripper"]])

    results = found(Client().get(API, {"q": "coffee"}))

    assert results == [catalogue["kettle"].pk]


def test_a_hidden_product_stays_hidden_when_another_rule_pins_it(catalogue):
    QueryRuleFactory(action="hide", products=[catalogue["trowel"]])
    QueryRuleFactory(action="pin", products=[catalogue["trowel"]], position=1)

    results = found(Client().get(API, {"q": "coffee"}))

    assert catalogue["trowel"].pk not in results


def test_a_buried_product_moves_to_the_end(catalogue):
    QueryRuleFactory(action="bury", products=[catalogue["dripper"]])

    results = on_page(Client().get("/search/", {"q": "coffee"}))

    assert results == [catalogue["kettle"].pk, catalogue["dripper"].pk]


def test_a_category_boost_lifts_its_products(catalogue):
    QueryRuleFactory(query="hand", action="boost", category=catalogue["dripper"].category, boost_percent=200)

    results = found(Client().get(API, {"q": "hand"}))

    assert results == [catalogue["dripper"].pk, catalogue["trowel"].pk]


def test_an_attribute_boost_matches_the_value_whatever_its_case(catalogue):
    QueryRuleFactory(action="boost", attribute_name="Material", attribute_value="STEEL", boost_percent=200)

    results = found(Client().get(API, {"q": "coffee"}))

    assert results == [catalogue["kettle"].pk, catalogue["dripper"].pk]


def test_a_boosted_sold_out_product_still_ranks_after_in_stock_ones(catalogue):
    QueryRuleFactory(query="steel", action="boost", category=catalogue["spade"].category, boost_percent=1000)

    results = found(Client().get(API, {"q": "steel"}))

    assert results == [catalogue["kettle"].pk, catalogue["spade"].pk]


def test_a_contains_rule_applies_to_longer_queries_and_an_exact_one_does_not(catalogue):
    QueryRuleFactory(match="contains", action="pin", products=[catalogue["trowel"]], position=1)
    QueryRuleFactory(match="exact", action="hide", products=[catalogue["dripper"]])

    results = found(Client().get(API, {"q": "Filter  COFFEE"}))

    assert results[0] == catalogue["trowel"].pk
    assert catalogue["dripper"].pk in results


def test_two_pins_for_one_position_give_it_to_the_exact_rule(catalogue):
    QueryRuleFactory(match="contains", action="pin", products=[catalogue["kettle"]], position=1)
    QueryRuleFactory(match="exact", action="pin", products=[catalogue["trowel"]], position=1)

    results = found(Client().get(API, {"q": "coffee"}))

    assert results[:2] == [catalogue["trowel"].pk, catalogue["kettle"].pk]


def test_a_redirect_rule_sends_the_search_page_to_its_address_and_the_api_names_it(catalogue):
    QueryRuleFactory(action="redirect", position=None, redirect_url="/pages/coffee-guide/")

    page = Client().get("/search/", {"q": "Coffee"})
    api = Client().get(API, {"q": "coffee"}).json()

    assert page.status_code == 302 and page["Location"] == "/pages/coffee-guide/"
    assert api["redirect"] == "/pages/coffee-guide/"


def test_a_redirect_to_a_page_uses_the_pages_url(catalogue, wagtail_site):
    QueryRuleFactory(action="redirect", position=None, redirect_page=wagtail_site)

    page = Client().get("/search/", {"q": "coffee"})

    assert page.status_code == 302 and page["Location"] == wagtail_site.url


def test_without_a_redirect_rule_the_api_says_null(catalogue):
    assert Client().get(API, {"q": "coffee"}).json()["redirect"] is None


@pytest.mark.parametrize(("starts", "ends"), [(1, None), (None, -1), (-2, -1)])
def test_a_rule_outside_its_window_changes_nothing(catalogue, starts, ends):
    now = timezone.now()
    QueryRuleFactory(action="pin", products=[catalogue["trowel"]], position=1,
                     starts_at=starts and now + dt.timedelta(days=starts),
                     ends_at=ends and now + dt.timedelta(days=ends))

    results = found(Client().get(API, {"q": "coffee"}))

    assert catalogue["trowel"].pk not in results


def test_a_rule_inside_its_window_applies(catalogue):
    now = timezone.now()
    QueryRuleFactory(action="pin", products=[catalogue["trowel"]], position=1,
                     starts_at=now - dt.timedelta(days=1), ends_at=now + dt.timedelta(days=1))

    results = found(Client().get(API, {"q": "coffee"}))

    assert results[0] == catalogue["trowel"].pk


def test_a_disabled_rule_changes_nothing(catalogue):
    QueryRuleFactory(action="hide", products=[catalogue["dripper"]], enabled=False)

    results = found(Client().get(API, {"q": "coffee"}))

    assert catalogue["dripper"].pk in results


def test_a_curated_search_list_applies_the_rules(catalogue):
    QueryRuleFactory(action="pin", products=[catalogue["kettle"]], position=1)

    ids = refresh_curated_results("coffee")

    assert ids[0] == catalogue["kettle"].pk


# --- the admin ------------------------------------------------------------------------------------


def test_a_saved_rule_changes_the_next_search_and_a_deleted_one_stops(
        client, catalogue, django_capture_on_commit_callbacks):
    before = found(Client().get(API, {"q": "coffee"}))  # caches this list and the (empty) rule table
    editor(client, "view_queryrule", "add_queryrule", "delete_queryrule")

    with django_capture_on_commit_callbacks(execute=True):
        saved = client.post(f"{SNIPPETS}add/", rule_form(products=[catalogue["trowel"].pk]))
    while_saved = found(Client().get(API, {"q": "coffee"}))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"{SNIPPETS}delete/{QueryRule.objects.get().pk}/")
    after = found(Client().get(API, {"q": "coffee"}))

    assert saved.status_code == 302, saved.content.decode()[-2000:]
    assert catalogue["trowel"].pk not in before
    assert while_saved[0] == catalogue["trowel"].pk
    assert catalogue["trowel"].pk not in after and not QueryRule.objects.exists()


def test_a_rule_is_stored_with_its_query_normalised(admin_client, catalogue):
    admin_client.post(f"{SNIPPETS}add/", rule_form(products=[catalogue["trowel"].pk]))

    assert QueryRule.objects.get().query == "coffee"


@pytest.mark.parametrize(("fields", "error"), [
    ({}, "Pin exactly one product"),
    ({"position": ""}, "Say at which position"),
    ({"action": "hide"}, "Choose the products."),
    ({"action": "boost"}, "Boost either a category or an attribute value"),
    ({"action": "boost", "attribute_name": "colour"}, "Give both the attribute and its value."),
    ({"action": "redirect"}, "Redirect to either a page or an address"),
    ({"action": "redirect", "redirect_url": "sale"}, "An address starts with /"),
    ({"query": "  "}, "This field is required."),
    ({"starts_at": "2026-12-08 10:00", "ends_at": "2026-12-07 10:00"}, "The rule must end after it starts."),
])
def test_a_rule_its_action_cannot_use_is_refused(admin_client, catalogue, fields, error):
    response = admin_client.post(f"{SNIPPETS}add/", rule_form(**fields))

    assert response.status_code == 200
    assert error in response.content.decode()
    assert not QueryRule.objects.exists()


def test_an_editor_who_may_only_view_rules_cannot_add_one(client, catalogue):
    editor(client, "view_queryrule")

    listing = client.get(SNIPPETS)
    client.post(f"{SNIPPETS}add/", rule_form(products=[catalogue["trowel"].pk]))

    assert listing.status_code == 200
    assert not QueryRule.objects.exists()


def test_an_editor_without_the_permissions_cannot_list_rules(client):
    editor(client)

    response = client.get(SNIPPETS)

    assert response.status_code in (302, 403)


def test_the_list_finds_rules_by_query_and_filters_them_by_action(admin_client, catalogue):
    QueryRuleFactory(name="Coffee pin", action="pin", products=[catalogue["trowel"]])
    QueryRuleFactory(name="Hand hide", query="hand", action="hide", products=[catalogue["trowel"]])

    searched = admin_client.get(SNIPPETS, {"q": "hand"}).content.decode()
    filtered = admin_client.get(SNIPPETS, {"action": "pin"}).content.decode()

    assert "Hand hide" in searched and "Coffee pin" not in searched
    assert "Coffee pin" in filtered and "Hand hide" not in filtered


def test_the_demo_merchandiser_may_manage_rules(client, catalogue):
    ensure_merchandiser("a-long-test-password")
    client.login(username="merchandiser", password="a-long-test-password")

    response = client.post(f"{SNIPPETS}add/", rule_form(products=[catalogue["trowel"].pk]))

    assert response.status_code == 302, response.content.decode()[-2000:]
    assert QueryRule.objects.get().products.get() == catalogue["trowel"]


# --- the preview ----------------------------------------------------------------------------------


def test_the_preview_of_an_unsaved_rule_shows_the_results_without_and_with_it_and_why(admin_client, catalogue):
    posted = admin_client.post(f"{SNIPPETS}preview/", rule_form(products=[catalogue["trowel"].pk]))

    lists = preview_lists(admin_client.get(f"{SNIPPETS}preview/").content.decode())

    assert posted.json()["is_valid"] is True
    assert [pid for pid, _ in lists["without"]] == [catalogue["dripper"].pk, catalogue["kettle"].pk]
    assert [pid for pid, _ in lists["with"]] == [catalogue["trowel"].pk, catalogue["dripper"].pk,
                                                  catalogue["kettle"].pk]
    assert lists["with"][0][1] == "rule: pinned at 1 (Coffee pins)"
    assert "keyword #1" in lists["without"][0][1] and "semantic #" in lists["without"][0][1]
    assert not QueryRule.objects.exists()


def test_the_preview_of_an_edit_compares_with_the_saved_rule_left_out(admin_client, catalogue):
    rule = QueryRuleFactory(name="Hide the dripper", action="hide", products=[catalogue["dripper"]])

    admin_client.post(f"{SNIPPETS}preview/{rule.pk}/",
                      rule_form(name="Bury the dripper", action="bury", products=[catalogue["dripper"].pk]))
    html = admin_client.get(f"{SNIPPETS}preview/{rule.pk}/").content.decode()
    lists = preview_lists(html)

    assert [pid for pid, _ in lists["without"]] == [catalogue["dripper"].pk, catalogue["kettle"].pk]
    last, reasons = lists["with"][-1]
    assert last == catalogue["dripper"].pk and "rule: buried (Bury the dripper)" in reasons
    assert "was 1" in html


def test_the_preview_lists_what_the_rule_hides_and_where_it_redirects(admin_client, catalogue):
    admin_client.post(f"{SNIPPETS}preview/", rule_form(action="hide", products=[catalogue["dripper"].pk]))
    hidden = admin_client.get(f"{SNIPPETS}preview/").content.decode()
    admin_client.post(f"{SNIPPETS}preview/", rule_form(action="redirect", redirect_url="/pages/coffee-guide/"))
    redirected = admin_client.get(f"{SNIPPETS}preview/").content.decode()

    assert f'data-hidden-id="{catalogue["dripper"].pk}"' in hidden
    assert "go to <a href=\"/pages/coffee-guide/\"" in redirected


def test_the_preview_says_its_ranking_has_no_personal_boost_and_what_one_would_do(admin_client, catalogue):
    # when
    admin_client.post(f"{SNIPPETS}preview/", rule_form(products=[catalogue["trowel"].pk]))
    html = admin_client.get(f"{SNIPPETS}preview/").content.decode()

    # then
    [note] = re.findall(r"<p class=\"reasons\" data-personalisation>([^<]+)</p>", html)
    assert "no personal boost" in note and "up to 30% higher" in note


def test_an_editor_who_may_only_view_rules_cannot_preview_one(client, catalogue):
    editor(client, "view_queryrule")

    response = client.post(f"{SNIPPETS}preview/", rule_form(products=[catalogue["trowel"].pk]))

    assert response.status_code in (302, 403)


def test_the_edit_page_offers_the_preview_panel(admin_client, catalogue):
    rule = QueryRuleFactory(action="pin", products=[catalogue["trowel"]])

    html = admin_client.get(f"{SNIPPETS}edit/{rule.pk}/").content.decode()

    assert f"{SNIPPETS}preview/{rule.pk}/" in html
