"""A request's Wagtail site comes from the cache, and a change to a site or a page drops what the cache knows."""

import pytest
from django.core.cache import cache
from django.test import Client
from wagtail.models import Site

from home import sites
from home.models import ContentPage, HomePage
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def a_second_site(wagtail_site, hostname: str) -> HomePage:
    root = wagtail_site.get_parent().add_child(instance=HomePage(title="Second shop", slug="second-shop"))
    Site.objects.create(hostname=hostname, port=80, root_page=root, site_name="Second")
    return root


def test_the_site_is_read_from_the_cache_until_a_site_is_saved(wagtail_site, settings):
    # Given the home page served once through a second site's host
    settings.ALLOWED_HOSTS = ["*"]
    a_second_site(wagtail_site, "second.example")
    assert "Second shop" in Client(HTTP_HOST="second.example").get("/").content.decode()

    # When that site's hostname changes without Django knowing (as a raw SQL edit would)
    Site.objects.filter(hostname="second.example").update(hostname="renamed.example")

    # Then requests are still routed from the cache; once a site is saved, from the database again
    assert "Second shop" in Client(HTTP_HOST="second.example").get("/").content.decode()
    Site.objects.get(hostname="renamed.example").save()
    assert "Second shop" not in Client(HTTP_HOST="second.example").get("/").content.decode()


def test_each_host_is_served_its_own_sites_pages(wagtail_site, settings):
    # Given two sites, each with its own root page
    settings.ALLOWED_HOSTS = ["*"]
    a_second_site(wagtail_site, "second.example")

    # When both are asked for, twice (the second time from the cache)
    pages = [Client(HTTP_HOST=host).get("/").content.decode() for _ in range(2)
             for host in ("localhost", "second.example")]

    # Then each host got its own home page every time
    assert ["Second shop" in html for html in pages] == [False, True, False, True]


def test_a_page_moved_under_another_parent_is_found_at_its_new_address(wagtail_site, settings):
    # Given a content page served at its address (the site cached)
    settings.ALLOWED_HOSTS = ["*"]
    second = a_second_site(wagtail_site, "second.example")
    guide = wagtail_site.add_child(instance=ContentPage(title="Buying guide", slug="guide"))
    assert Client().get("/guide/").status_code == 200

    # When it is moved under the second site's root
    guide.move(second, pos="last-child")

    # Then the first site no longer serves it and the second does
    assert Client().get("/guide/").status_code == 404
    assert Client(HTTP_HOST="second.example").get("/guide/").status_code == 200


def test_hosts_no_site_answers_are_cached_too_but_never_more_than_the_limit(wagtail_site, settings):
    # Given no default site, so an unknown host has no site
    settings.ALLOWED_HOSTS = ["*"]
    Site.objects.update(is_default_site=False)

    # When more hosts than the limit are asked for
    statuses = {Client(HTTP_HOST=f"host{n}.example").get("/").status_code for n in range(sites.MAX_HOSTS + 5)}

    # Then none is served a page, and the cache holds at most the limit
    assert statuses == {404}
    assert len(cache.get(sites.SITES_KEY)) <= sites.MAX_HOSTS


def test_saving_a_page_drops_the_cached_sites_and_saving_anything_else_does_not(wagtail_site, settings):
    # Given the sites cached by a request
    settings.ALLOWED_HOSTS = ["*"]
    Client().get("/")
    assert cache.get(sites.SITES_KEY)

    # When a product is saved, the sites stay cached; when a page is saved, they are dropped
    ProductFactory().save()
    assert cache.get(sites.SITES_KEY)
    wagtail_site.specific.save()
    assert cache.get(sites.SITES_KEY) is None
