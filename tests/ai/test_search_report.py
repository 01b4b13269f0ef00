"""Admin → Reports → Search: the lists a merchandiser acts on, and their one-click synonym and rule forms."""

import datetime as dt
import re
import uuid
from html import unescape

import pytest
from django.test import Client
from django.utils import timezone

from ai.search import reports, synonyms
from ai.search.models import SearchQuery, Synonym
from tests.factories import ProductFactory, QueryRuleFactory, SynonymFactory, editor

pytestmark = pytest.mark.django_db

REPORT = "/admin/reports/search/"


@pytest.fixture
def product():
    return ProductFactory()


def log(query, *, results=3, clicked=None, visitor=None, minutes_ago=60):
    """One logged search, ``minutes_ago`` minutes back (the log stamps its rows on creation)."""
    entry = SearchQuery.objects.create(query=query, normalized=query, result_count=results, clicked_product=clicked,
                                       visitor_id=visitor or uuid.uuid4())
    SearchQuery.objects.filter(pk=entry.pk).update(created_at=timezone.now() - dt.timedelta(minutes=minutes_ago))


def since(days=30):
    return reports.period(days)


def links(page: str, label: str) -> list[str]:
    return [unescape(href) for href in re.findall(rf'href="([^"]+)">{label}</a>', page)]


def section(page: str, name: str) -> str:
    """The report's list headed ``id=name``, up to the next heading."""
    return page.split(f'<h2 id="{name}">')[1].split("<h2")[0]


def test_zero_result_queries_come_most_frequent_first_with_when_last_seen():
    for minutes in (30, 90, 600):
        log("flux capacitor", results=0, minutes_ago=minutes)
    log("quark", results=0)
    log("lamp")
    log("flux capacitor", results=0, minutes_ago=40 * 24 * 60)  # outside the last 30 days

    rows = reports.zero_result_queries(since())

    assert [(row["normalized"], row["searches"]) for row in rows] == [("flux capacitor", 3), ("quark", 1)]
    assert timezone.now() - rows[0]["last_seen"] < dt.timedelta(minutes=31)
    assert reports.zero_result_queries(since(90))[0]["searches"] == 4


def test_low_click_queries_are_those_shown_results_often_and_seldom_clicked(product):
    for n in range(10):
        log("lamp")  # never clicked
        log("mug", clicked=product if n < 5 else None)  # half clicked
        log("bowl", clicked=product if n == 0 else None)  # 10%: not below the threshold
        log("rug", results=0)  # found nothing: the zero-result list's
    for _ in range(4):
        log("vase")  # unclicked, but too few searches to judge

    rows = reports.low_click_queries(since())

    assert [(row["normalized"], row["searches"], row["clicks"], row["ctr"]) for row in rows] == [("lamp", 10, 0, 0.0)]


def test_applied_queries_name_the_synonyms_and_rules_that_match_with_their_click_through(product):
    SynonymFactory()  # sofa, couch, settee
    SynonymFactory(kind="one_way", terms="tee", targets="t-shirt")
    QueryRuleFactory(name="Pin the dripper", query="coffee")
    log("settee", clicked=product)
    log("settee")
    log("linen sofas")  # stemmed like the index: "sofas" is the group's "sofa"
    log("coffee")
    log("t-shirt")  # a one-way rule's target does not bring its term in
    log("lamp")

    rows = {row["normalized"]: row for row in reports.applied_queries(since())}

    assert set(rows) == {"settee", "linen sofas", "coffee"}
    settee, sofas, coffee = rows["settee"], rows["linen sofas"], rows["coffee"]
    assert (settee["synonyms"], settee["rules"], settee["ctr"]) == (["sofa, couch, settee"], [], 0.5)
    assert sofas["synonyms"] == ["sofa, couch, settee"]
    assert (coffee["synonyms"], coffee["rules"], coffee["searches"]) == ([], ["Pin the dripper"], 1)


def test_a_search_a_rule_redirects_is_logged_and_listed_with_the_rule_not_as_finding_nothing():
    # given
    QueryRuleFactory(name="Coffee guide", action="redirect", position=None, redirect_url="/pages/coffee-guide/")

    # when
    page = Client().get("/search/", {"q": "Coffee"})

    # then
    assert page.status_code == 302
    assert SearchQuery.objects.get().method == SearchQuery.REDIRECTED
    [row] = reports.applied_queries(since())
    assert (row["normalized"], row["rules"], row["searches"]) == ("coffee", ["Coffee guide"], 1)
    assert reports.zero_result_queries(since()) == []
    assert reports.search_report()["totals"]["zero"] == 0


def test_a_redirected_search_is_no_rewording_to_mine_synonyms_from(product):
    # given
    visitor = uuid.uuid4()
    log("coffee", results=0, visitor=visitor, minutes_ago=30)
    SearchQuery.objects.filter(normalized="coffee").update(method=SearchQuery.REDIRECTED)
    log("coffee guide", clicked=product, visitor=visitor, minutes_ago=29)

    # then
    assert reports.synonym_suggestions(since()) == []


def test_a_rewording_that_found_a_click_suggests_a_one_way_synonym_ranked_by_visitors(product):
    for _ in range(2):
        visitor = uuid.uuid4()
        log("tee", results=0, visitor=visitor, minutes_ago=30)
        log("t-shirt", clicked=product, visitor=visitor, minutes_ago=28)
    late = uuid.uuid4()
    log("tee", results=0, visitor=late, minutes_ago=30)
    log("t-shirt", clicked=product, visitor=late, minutes_ago=20)  # ten minutes on: a new search, not a rewording
    stranger = uuid.uuid4()
    log("tee", results=0, minutes_ago=30)
    log("tshirt", clicked=product, visitor=stranger, minutes_ago=29)  # another visitor
    unclicked = uuid.uuid4()
    log("jumper", visitor=unclicked, minutes_ago=30)  # results, but no click
    log("sweater", clicked=product, visitor=unclicked, minutes_ago=27)
    answered = uuid.uuid4()
    log("mug", clicked=product, visitor=answered, minutes_ago=30)  # clicked: nothing to fix
    log("cup", clicked=product, visitor=answered, minutes_ago=29)

    rows = reports.synonym_suggestions(since())

    assert [(row["query"], row["target"], row["visitors"]) for row in rows] == [("tee", "t-shirt", 2),
                                                                               ("jumper", "sweater", 1)]


def test_a_suggestion_a_current_synonym_already_covers_is_left_out(product):
    visitor = uuid.uuid4()
    log("tee", results=0, visitor=visitor, minutes_ago=30)
    log("t-shirt", clicked=product, visitor=visitor, minutes_ago=28)
    SynonymFactory(kind="one_way", terms="tee", targets="t-shirt")
    synonyms.table.forget()  # the save's receiver drops the table on commit, which a test transaction never reaches

    assert reports.synonym_suggestions(since()) == []


def test_the_report_lists_each_section_with_add_links_for_an_editor_who_may_add(client, product):
    editor(client, "view_searchquery", "add_synonym", "view_synonym", "add_queryrule", "view_queryrule")
    log("flux capacitor", results=0)
    visitor = uuid.uuid4()
    log("tee", results=0, visitor=visitor, minutes_ago=30)
    log("t-shirt", clicked=product, visitor=visitor, minutes_ago=28)

    page = client.get(REPORT).content.decode()

    assert "<td>flux capacitor</td><td>1</td>" in page and "<td>tee</td><td>t-shirt</td><td>1</td>" in page
    assert "/admin/snippets/search/synonym/add/?kind=one_way&terms=flux%20capacitor" in links(page, "Add synonym")
    assert "/admin/snippets/search/synonym/add/?kind=one_way&terms=tee&targets=t-shirt" in links(page, "Add synonym")
    assert ("/admin/snippets/search/queryrule/add/?name=flux%20capacitor&match=exact&query=flux%20capacitor"
            in links(page, "Add rule"))


def test_the_add_synonym_link_opens_a_prefilled_form_that_saves_the_suggestion(client, product):
    editor(client, "view_searchquery", "add_synonym", "view_synonym")
    visitor = uuid.uuid4()
    log("tee", results=0, visitor=visitor, minutes_ago=30)
    log("t-shirt", clicked=product, visitor=visitor, minutes_ago=28)
    link = next(link for link in links(client.get(REPORT).content.decode(), "Add synonym") if "targets=" in link)

    form = client.get(link).content.decode()
    saved = client.post(link, {"kind": "one_way", "terms": "tee", "targets": "t-shirt", "enabled": "on"})

    assert re.search(r'<option value="one_way" selected>', form)
    assert re.search(r'name="terms"[^>]*value="tee"', form) and re.search(r'name="targets"[^>]*value="t-shirt"', form)
    assert saved.status_code == 302, saved.content.decode()[-2000:]
    assert Synonym.objects.filter(kind="one_way", terms="tee", targets="t-shirt").exists()


def test_the_add_rule_link_opens_a_form_prefilled_with_the_query(client):
    editor(client, "view_searchquery", "add_queryrule", "view_queryrule")
    log("flux capacitor", results=0)
    link = links(client.get(REPORT).content.decode(), "Add rule")[0]

    form = client.get(link).content.decode()

    assert re.search(r'name="query"[^>]*value="flux capacitor"', form)
    assert re.search(r'name="name"[^>]*value="flux capacitor"', form)


def test_the_add_links_show_only_to_editors_who_may_add(client):
    editor(client, "view_searchquery", "add_synonym")
    log("flux capacitor", results=0)

    page = client.get(REPORT).content.decode()

    assert links(page, "Add synonym") and not links(page, "Add rule")


def test_an_editor_who_may_only_view_the_report_gets_no_add_links(client):
    editor(client, "view_searchquery")
    log("flux capacitor", results=0)

    page = client.get(REPORT).content.decode()

    assert "flux capacitor" in page and not links(page, "Add synonym") and not links(page, "Add rule")


def test_an_editor_who_may_add_synonyms_but_not_view_the_report_is_refused(client):
    editor(client, "add_synonym", "view_synonym")

    assert client.get(REPORT).status_code in (302, 403)


def test_each_list_pages_on_its_own(admin_client):
    for n in range(30):
        log(f"nothing {n:02d}", results=0)

    first = section(admin_client.get(REPORT).content.decode(), "zero")
    second = section(admin_client.get(REPORT, {"zero_page": 2}).content.decode(), "zero")

    assert "<td>nothing 24</td>" in first and "<td>nothing 25</td>" not in first
    assert 'href="?zero_page=2#zero">Next</a>' in first
    assert "<td>nothing 25</td>" in second and "<td>nothing 24</td>" not in second
