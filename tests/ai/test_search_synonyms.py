import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from ai.search import indexing
from ai.search.models import Synonym
from ai.search.retrieval import keyword_search
from demo.accounts import ensure_merchandiser
from tests.factories import CategoryFactory, ProductFactory, SynonymFactory, editor, ranked_ids

pytestmark = pytest.mark.django_db

API = "/api/v1/search"
SNIPPETS = "/admin/snippets/search/synonym/"


@pytest.fixture
def sofa(catalogue):
    """A sofa beside the coffee and garden catalogue. The encoder does not relate "settee" to it (cosine
    0.17, under the semantic floor), so only a synonym can find it for that word; "couch" it relates
    (0.63), which is why these tests search for "settee"."""
    product = ProductFactory(title="Three-Seat Linen Sofa", category=CategoryFactory(name="Living Room"),
                             description="Deep cushions and oak legs.")
    indexing.index_products([product.pk])
    indexing.refresh_term_statistics()
    return product


def found(response) -> list[int]:
    return [result["id"] for result in response.json()["results"]]


def group_form(**overrides) -> dict:
    return {"kind": "two_way", "terms": "Sofa, COUCH ,  settee", "targets": "", "enabled": "on"} | overrides


def test_the_api_finds_the_sofa_for_settee_once_the_group_is_saved_not_before(
        client, sofa, django_capture_on_commit_callbacks):
    before = Client().get(API, {"q": "settee"})  # caches this list and the (empty) synonym table
    editor(client, "view_synonym", "add_synonym")

    with django_capture_on_commit_callbacks(execute=True):
        saved = client.post(f"{SNIPPETS}add/", group_form())
    after = Client().get(API, {"q": "settee"})

    assert sofa.pk not in found(before)
    assert saved.status_code == 302, saved.content.decode()[-2000:]
    assert found(after)[0] == sofa.pk


def test_the_search_page_shows_the_sofa_for_settee_after_the_group_is_saved(sofa, django_capture_on_commit_callbacks):
    before = Client().get("/search/", {"q": "settee"}).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        SynonymFactory()
    after = Client().get("/search/", {"q": "settee"}).content.decode()

    assert "Three-Seat Linen Sofa" not in before
    assert "Three-Seat Linen Sofa" in after


def test_a_deleted_group_stops_matching_at_the_next_search(admin_client, sofa, django_capture_on_commit_callbacks):
    group = SynonymFactory()
    while_saved = Client().get(API, {"q": "settee"})

    with django_capture_on_commit_callbacks(execute=True):
        deleted = admin_client.post(f"{SNIPPETS}delete/{group.pk}/")
    after = Client().get(API, {"q": "settee"})

    assert found(while_saved)[0] == sofa.pk
    assert deleted.status_code == 302 and not Synonym.objects.exists()
    assert sofa.pk not in found(after)


def test_a_disabled_group_changes_no_search(sofa):
    SynonymFactory(enabled=False)

    assert keyword_search("settee")[0] == []


def test_a_one_way_rule_expands_only_in_its_direction(catalogue):
    shirt = ProductFactory(title="Organic Cotton T-Shirt", description="A soft crew neck.")
    tees = ProductFactory(title="Bamboo Golf Tees", description="A bag of fifty.")
    indexing.index_products([shirt.pk, tees.pk])
    indexing.refresh_term_statistics()
    SynonymFactory(kind="one_way", terms="tee", targets="t-shirt")

    tee = ranked_ids(keyword_search("tee")[0])
    t_shirt = ranked_ids(keyword_search("t-shirt")[0])

    assert set(tee) == {shirt.pk, tees.pk}
    assert t_shirt == [shirt.pk]


def test_a_phrase_matches_only_when_the_query_has_all_its_words(catalogue):
    SynonymFactory(kind="one_way", terms="garden shovel", targets="spade")

    assert keyword_search("shovel")[0] == []
    assert ranked_ids(keyword_search("garden shovel")[0])[0] == catalogue["spade"].pk


def test_a_merchandiser_with_the_permission_adds_a_group_stored_normalised(client):
    editor(client, "view_synonym", "add_synonym")

    response = client.post(f"{SNIPPETS}add/", group_form())

    assert response.status_code == 302, response.content.decode()[-2000:]
    group = Synonym.objects.get()
    assert (group.kind, group.terms, group.targets, group.enabled) == ("two_way", "sofa, couch, settee", "", True)


def test_the_demo_merchandiser_may_manage_synonyms(client):
    ensure_merchandiser("a-long-test-password")
    client.login(username="merchandiser", password="a-long-test-password")

    response = client.post(f"{SNIPPETS}add/", group_form())

    assert response.status_code == 302, response.content.decode()[-2000:]
    assert Synonym.objects.get().terms == "sofa, couch, settee"


def test_an_editor_without_the_permission_cannot_add_a_group(client):
    editor(client, "view_synonym")

    client.post(f"{SNIPPETS}add/", group_form())

    assert not Synonym.objects.exists()


@pytest.mark.parametrize(("fields", "error"), [
    ({"terms": "sofa"}, "at least two different terms"),
    ({"terms": "sofa, Sofa "}, "at least two different terms"),
    ({"terms": "sofa, , couch"}, "Remove the empty term"),
    ({"terms": "sofa, couch,"}, "Remove the empty term"),
    ({"terms": "sofa, couch", "targets": "settee"}, "Only one-way rules have targets"),
    ({"kind": "one_way", "terms": "tee"}, "needs at least one target"),
    ({"kind": "one_way", "terms": "tee, Tshirt", "targets": "tshirt"}, "cannot also be its target: tshirt"),
    ({"kind": "one_way", "terms": "tee", "targets": "t-shirt,"}, "Remove the empty term"),
    ({"terms": "sofa, the"}, "Search ignores these words (too common to index): the."),
    ({"kind": "one_way", "terms": "tee", "targets": "t-shirt, of the"}, "too common to index): of the."),
])
def test_the_form_refuses_rules_that_cannot_match_or_mean_nothing(admin_client, fields, error):
    response = admin_client.post(f"{SNIPPETS}add/", group_form(**fields))

    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Synonym.objects.exists()


def test_clean_normalises_a_one_way_rule():
    rule = Synonym(kind="one_way", terms=" Tee,  Tees ", targets="T-Shirt,  Crew   Neck")

    rule.full_clean()

    assert (rule.terms, rule.targets) == ("tee, tees", "t-shirt, crew neck")
    assert str(rule) == "tee, tees → t-shirt, crew neck"


def test_clean_refuses_a_group_of_one_without_changing_it():
    group = Synonym(terms="Sofa")

    with pytest.raises(ValidationError):
        group.full_clean()
    assert group.terms == "Sofa"


def test_synonyms_are_listed_searchable_and_filterable(admin_client):
    SynonymFactory()
    SynonymFactory(kind="one_way", terms="tee", targets="t-shirt")

    listing = admin_client.get(SNIPPETS).content.decode()
    one_way = admin_client.get(SNIPPETS, {"kind": "one_way"}).content.decode()
    searched = admin_client.get(SNIPPETS, {"q": "couch"}).content.decode()

    assert "sofa, couch, settee" in listing and "t-shirt" in listing
    assert "t-shirt" in one_way and "sofa, couch" not in one_way
    assert "sofa, couch" in searched and "t-shirt" not in searched
