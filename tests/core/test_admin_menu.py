import pytest
from django.contrib.auth.models import Permission
from django.test import Client, RequestFactory

from core.admin_menu import PermittedMenuItem
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def request_by(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def test_a_permitted_menu_item_is_shown_only_to_users_with_its_permission():
    # given
    item = PermittedMenuItem("Search", "/admin/reports/search/", permission="search.view_searchquery")
    reader, other = UserFactory(), UserFactory()
    reader.user_permissions.add(Permission.objects.get(codename="view_searchquery", content_type__app_label="search"))

    # then
    assert item.is_shown(request_by(type(reader).objects.get(pk=reader.pk)))
    assert not item.is_shown(request_by(other))


def test_a_subclass_may_name_its_permission_for_a_viewset_that_builds_the_item():
    # given
    class SearchReportItem(PermittedMenuItem):
        permission = "search.view_searchquery"

    item = SearchReportItem("Search", "/admin/reports/search/")

    # then
    assert not item.is_shown(request_by(UserFactory()))
    assert item.permission == "search.view_searchquery"


def sidebar(user) -> str:
    """The admin home page's sidebar as ``user`` gets it (its menu is JSON in the page)."""
    client = Client()
    client.force_login(user)
    page = client.get("/admin/").content.decode()
    return page[page.index('id="wagtail-sidebar-props"'):]


def test_the_merchandising_menu_gathers_the_levers_a_user_may_open_and_hides_when_none():
    # given a merchandiser who may view recommendation rules only, a superuser, and a user with admin access only
    merchandiser, other = UserFactory(), UserFactory()
    merchandiser.user_permissions.add(*Permission.objects.filter(
        codename__in=["access_admin", "view_recommendationrule"]))
    other.user_permissions.add(Permission.objects.get(codename="access_admin"))

    # when
    theirs, everything, nothing = sidebar(merchandiser), sidebar(UserFactory(is_superuser=True)), sidebar(other)

    # then the merchandiser's submenu holds what they may open; the superuser's every lever; the other, none
    assert "Merchandising" in theirs and "Recommendation rules" in theirs and "Recommendation preview" in theirs
    assert "Search synonyms" not in theirs and "Search rules" not in theirs
    for label in ("Search synonyms", "Search rules", "Recommendation rules", "Recommendation preview"):
        assert label in everything
    assert everything.index("Merchandising") < everything.index("Search synonyms")
    assert "Merchandising" not in nothing
