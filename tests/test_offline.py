"""The demo runs offline: no template, stylesheet or rendered page makes a browser fetch from another host
(a CDN, web fonts). Links a shopper may click (``<a href>``) are not fetches and are not checked."""

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.staticfiles import finders

from home.models import HomePage
from tests.factories import ProductFactory, publish_home

BASE_DIR = Path(settings.BASE_DIR)
OUTSIDE_THE_REPO = {".venv", "var", "node_modules"}

# An absolute (http://, https://) or protocol-relative (//) URL, as it appears in markup or CSS.
EXTERNAL = r"""(?:https?:)?//"""
FETCHING_MARKUP = [
    re.compile(rf"""<(?:script|img|iframe|source|audio|video|embed)\b[^>]*?\bsrc\s*=\s*["']?\s*{EXTERNAL}""", re.I),
    re.compile(rf"""<link\b[^>]*?\bhref\s*=\s*["']?\s*{EXTERNAL}""", re.I),
    re.compile(rf"""@import\s+(?:url\(\s*)?["']?\s*{EXTERNAL}""", re.I),
    re.compile(rf"""url\(\s*["']?\s*{EXTERNAL}""", re.I),
]
FETCHING_CSS = FETCHING_MARKUP[2:]
# What a browser loads by itself from a page: tag → attributes holding URLs.
FETCHED_ATTRIBUTES = {"script": {"src"}, "link": {"href"}, "img": {"src", "srcset"}, "iframe": {"src"},
                      "source": {"src", "srcset"}, "audio": {"src"}, "video": {"src", "poster"},
                      "embed": {"src"}}


def external_references(text: str, patterns=FETCHING_MARKUP) -> list[str]:
    return [match.group(0) for pattern in patterns for match in pattern.finditer(text)]


def is_external(url: str) -> bool:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme in {"http", "https"} or url.startswith("//"):
        return parts.hostname != "testserver"
    return False


class FetchedURLs(HTMLParser):
    """Collects the URLs a browser would fetch on its own: script/link/img/iframe… sources, and url()
    and @import in <style> blocks and style attributes."""

    def __init__(self):
        super().__init__()
        self.urls: list[tuple[str, str]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self._in_style = tag == "style"
        for name, value in attrs:
            if not value:
                continue
            if name == "style":
                self.styles.append(value)
            elif name in FETCHED_ATTRIBUTES.get(tag, ()):
                urls = [part.split()[0] for part in value.split(",") if part.strip()] if name == "srcset" else [value]
                self.urls += [(tag, url) for url in urls]

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def fetched(response) -> FetchedURLs:
    assert response.status_code == 200, (response.status_code, response.get("Location"))
    parser = FetchedURLs()
    parser.feed(response.content.decode())
    return parser


def assert_fetches_nothing_external(response):
    page = fetched(response)
    assert page.urls, "no script, stylesheet or picture found: is this the page meant?"
    assert [(tag, url) for tag, url in page.urls if is_external(url)] == []
    assert [found for style in page.styles for found in external_references(style, FETCHING_CSS)] == []


def repo_template_dirs() -> list[Path]:
    """templates/ and every installed app's templates/ that lives in this repository (not in .venv)."""
    dirs = [BASE_DIR / "templates"]
    for config in apps.get_app_configs():
        path = Path(config.path)
        if path.is_relative_to(BASE_DIR) and not OUTSIDE_THE_REPO & set(path.relative_to(BASE_DIR).parts):
            dirs.append(path / "templates")
    return [d for d in dirs if d.is_dir()]


# --- sources -------------------------------------------------------------------------------------


def test_the_checks_recognise_every_kind_of_external_reference():
    for snippet in ['<script defer src="https://cdn.example.com/lib.js"></script>',
                    "<link rel=\"stylesheet\" href='//fonts.googleapis.com/css?family=Roboto'>",
                    '<img class="x" src=http://example.com/a.png>',
                    '<style>@import url("https://example.com/a.css");</style>',
                    "<style>@import '//example.com/b.css';</style>",
                    '<div style="background: url( https://example.com/bg.png )"></div>']:
        assert external_references(snippet), snippet
    assert external_references("""
        <script src="{% static 'js/vitrine.js' %}"></script> <link href="/static/css/vitrine.css">
        <a href="https://wagtail.org/">Wagtail</a> <img src="data:image/png;base64,AAAA">
        <div style="background: url('/static/bg.png')"></div>
    """) == []
    assert is_external("https://cdn.jsdelivr.net/x.js") and is_external("//unpkg.com/x.js")
    assert not is_external("http://testserver/static/x.js") and not is_external("/static/x.js")


def test_no_template_in_the_repository_loads_anything_from_another_host():
    dirs = repo_template_dirs()
    templates = [path for directory in dirs for path in directory.rglob("*") if path.is_file()]
    assert BASE_DIR / "templates" / "base.html" in templates
    assert {d.relative_to(BASE_DIR).parts[0] for d in dirs} >= {"templates", "commerce", "ai", "home", "blocks"}

    found = {str(path.relative_to(BASE_DIR)): refs for path in templates
             if (refs := external_references(path.read_text(errors="replace")))}

    assert found == {}


def test_no_stylesheet_imports_anything_from_another_host():
    stylesheets = list((BASE_DIR / "static").rglob("*.css"))
    assert BASE_DIR / "static" / "css" / "vitrine.css" in stylesheets

    found = {str(path.relative_to(BASE_DIR)): refs for path in stylesheets
             if (refs := external_references(path.read_text(errors="replace"), FETCHING_CSS))}

    assert found == {}


# --- rendered pages ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_docs_load_redoc_from_our_own_static_files(client):
    response = client.get("/api/v1/docs/")

    assert_fetches_nothing_external(response)
    scripts = [url for tag, url in fetched(response).urls if tag == "script"]
    assert scripts == ["/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"]
    assert finders.find("drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js")
    assert client.get(scripts[0]).status_code == 200


@pytest.mark.django_db
def test_the_home_page_fetches_nothing_from_another_host(client, wagtail_site):
    publish_home(HomePage.objects.get(pk=wagtail_site.pk), ProductFactory(title="Sencha green tea"))

    response = client.get("/")

    assert "Sencha green tea" in response.content.decode()
    assert_fetches_nothing_external(response)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/search/?q=tea", "/cart/", "/account/login/"])
def test_shop_pages_fetch_nothing_from_another_host(client, wagtail_site, path):
    ProductFactory(title="Sencha green tea")

    assert_fetches_nothing_external(client.get(path))


@pytest.mark.django_db
def test_the_wagtail_admin_login_fetches_nothing_from_another_host(client, wagtail_site):
    assert_fetches_nothing_external(client.get("/admin/login/"))
