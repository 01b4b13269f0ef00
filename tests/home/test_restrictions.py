"""Pages skip Wagtail's restriction queries while no page is restricted, and a restriction applies from the
next request on."""

import pytest
from django.test import Client
from wagtail.models import PageViewRestriction

from home.models import ContentPage

pytestmark = pytest.mark.django_db


def test_a_restriction_added_to_a_served_page_applies_at_the_next_request(wagtail_site):
    # Given a public page, served (so "no restriction anywhere" is cached)
    wagtail_site.add_child(instance=ContentPage(title="Buying guide", slug="guide"))
    assert Client().get("/guide/").status_code == 200

    # When its parent is made private to signed-in shoppers
    restriction = PageViewRestriction.objects.create(page=wagtail_site, restriction_type=PageViewRestriction.LOGIN)

    # Then the page sends shoppers to sign in, until the restriction is removed
    response = Client().get("/guide/")
    assert response.status_code == 302 and "login" in response["Location"]
    restriction.delete()
    assert Client().get("/guide/").status_code == 200


def test_a_password_restriction_asks_for_the_password(wagtail_site):
    # Given the home page served once, then protected by a password
    assert Client().get("/").status_code == 200
    PageViewRestriction.objects.create(page=wagtail_site, restriction_type=PageViewRestriction.PASSWORD,
                                       password="s3cret-preview")

    # When a shopper opens it
    html = Client().get("/").content.decode()

    # Then they get the password form, not the page
    assert 'name="password"' in html
