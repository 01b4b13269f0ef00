import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def clean_redis():
    """Each test starts and ends with an empty Redis database (cache, sessions, broker queues)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def shopper_client(client):
    """A browser-like client: VisitorMiddleware gives it a visitor cookie on its first request."""
    client.get("/cart/")
    return client


@pytest.fixture
def wagtail_site(django_db_blocker):
    """The page tree migrations create (root → HomePage, default Site), rebuilt if a transactional test
    before this one flushed it."""
    from django.conf import settings
    from wagtail.coreutils import get_supported_content_language_variant
    from wagtail.models import Locale, Page, Site

    from home.models import HomePage

    with django_db_blocker.unblock():
        home = HomePage.objects.first()
        if home is None:
            Locale.objects.get_or_create(language_code=get_supported_content_language_variant(settings.LANGUAGE_CODE))
            root = Page.get_first_root_node() or Page.add_root(instance=Page(title="Root", slug="root"))
            home = root.add_child(instance=HomePage(title="Vitrine", slug="home"))
        Site.objects.update_or_create(is_default_site=True, defaults={
            "hostname": "localhost", "port": 80, "root_page": home, "site_name": "Vitrine"})
    return home
