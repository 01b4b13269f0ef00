"""Products and categories as Wagtail snippets: searchable, filterable listings and choosers for blocks.

Other apps add read-only tabs to the product editor through the ``register_product_admin_tabs`` hook
(a function returning ``ObjectList`` tabs), so the catalogue never imports them.
"""

from wagtail import hooks
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    InlinePanel,
    MultiFieldPanel,
    ObjectList,
    TabbedInterface,
)
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from commerce.catalogue.models import Category, Product


class ProductViewSet(SnippetViewSet):
    model = Product
    icon = "tag"
    menu_label = "Products"
    list_display = ["title", "category", "price", "base_price", "stock", "active", "updated_at"]
    list_filter = {"category": ["exact"], "active": ["exact"], "stock": ["lte"], "price": ["gte", "lte"]}
    list_per_page = 50
    ordering = ["title"]
    copy_view_enabled = True
    inspect_view_enabled = True
    tabs = [
        ObjectList([
            FieldPanel("title"),
            FieldPanel("slug"),
            FieldPanel("category"),
            FieldPanel("description"),
            FieldPanel("attributes"),
            FieldPanel("image"),
            FieldPanel("active"),
        ], heading="Product"),
        ObjectList([
            FieldRowPanel([FieldPanel("base_price"), FieldPanel("price"), FieldPanel("currency")]),
            FieldPanel("stock"),
            InlinePanel("variants", heading="Variants", label="Variant",
                        panels=[FieldPanel("sku"), FieldPanel("options"), FieldPanel("price"), FieldPanel("stock")]),
        ], heading="Price & stock"),
        ObjectList([InlinePanel("gallery", label="Picture", panels=[FieldPanel("image"), FieldPanel("caption")])],
                   heading="Gallery"),
    ]

    def get_edit_handler(self):
        extra_tabs = [tab for hook in hooks.get_hooks("register_product_admin_tabs") for tab in hook()]
        return TabbedInterface([*self.tabs, *extra_tabs]).bind_to_model(self.model)


class CategoryViewSet(SnippetViewSet):
    model = Category
    icon = "folder-open-inverse"
    menu_label = "Categories"
    list_display = ["name", "parent", "slug", "sort_order"]
    list_filter = ["parent"]
    ordering = ["sort_order", "name"]
    panels = [
        MultiFieldPanel([FieldPanel("name"), FieldPanel("slug"), FieldPanel("parent"), FieldPanel("sort_order")],
                        heading="Category"),
        FieldPanel("description"),
        FieldPanel("image"),
    ]


class CatalogueGroup(SnippetViewSetGroup):
    items = (ProductViewSet, CategoryViewSet)
    menu_icon = "tag"
    menu_label = "Catalogue"
    menu_name = "catalogue"
    menu_order = 200


register_snippet(CatalogueGroup)
