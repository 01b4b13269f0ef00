"""Wagtail pages merchandisers edit. Product and category pages are catalogue views at stable URLs
(/products/<slug>/, /shop/<slug>/) rather than one Wagtail page per product: the catalogue is the
single source of product data, and 100,000 products need no 100,000 page-tree rows."""

from django.db import models
from wagtail.admin.panels import FieldPanel
from wagtail.fields import StreamField
from wagtail.models import Page, PageViewRestriction
from wagtail.search import index

from blocks.blocks import StorefrontStreamBlock
from home.restrictions import any_view_restriction


class PublicUnlessRestricted:
    """Skips Wagtail's view-restriction queries while no page has a restriction (``home.restrictions``)."""

    def get_view_restrictions(self):
        if not any_view_restriction():
            return PageViewRestriction.objects.none()
        return super().get_view_restrictions()


class HomePage(PublicUnlessRestricted, Page):
    body = StreamField(StorefrontStreamBlock(), blank=True,
                       help_text="Compose the home page from blocks: banners, product grids, text.")

    content_panels = Page.content_panels + [FieldPanel("body")]
    search_fields = Page.search_fields + [index.SearchField("body")]

    max_count = 1
    subpage_types = ["home.ContentPage"]
    parent_page_types = ["wagtailcore.Page"]
    template = "home/home_page.html"


class ContentPage(PublicUnlessRestricted, Page):
    """A landing or editorial page: a campaign, a buying guide, a story."""

    intro = models.TextField(blank=True, max_length=400, help_text="One or two sentences under the title.")
    body = StreamField(StorefrontStreamBlock(), blank=True, help_text="The page, block by block.")

    content_panels = Page.content_panels + [FieldPanel("intro"), FieldPanel("body")]
    search_fields = Page.search_fields + [index.SearchField("intro"), index.SearchField("body")]

    subpage_types = ["home.ContentPage"]
    template = "home/content_page.html"
