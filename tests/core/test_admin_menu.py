import pytest
from django.contrib.auth.models import Permission
from django.test import RequestFactory

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
