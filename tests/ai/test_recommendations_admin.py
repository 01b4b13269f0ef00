import datetime as dt

import pytest
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from ai.recommendations.models import RecommendationModel
from ai.recommendations.training import train_recommendations
from tests.factories import UserFactory

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
