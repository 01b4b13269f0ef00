"""Products and categories as Wagtail snippets: searchable, filterable listings and choosers for blocks.

Other apps add read-only tabs to the product editor through the ``register_product_admin_tabs`` hook
(a function returning ``ObjectList`` tabs), so the catalogue never imports them.
"""

from django.db.models import Prefetch
from wagtail import hooks
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    InlinePanel,
    MultiFieldPanel,
    ObjectList,
    TabbedInterface,
)
from wagtail.admin.ui.tables import Column
from wagtail.images import get_image_model
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.chooser import ChooseResultsView, ChooseView, SnippetChooserViewSet
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from commerce.catalogue.models import Category, Product, ProductVariant

CHOOSER_THUMBNAIL = "fill-48x48"


class ThumbnailColumn(Column):
    cell_template_name = "catalogue/admin/thumbnail_cell.html"


def skus(product: Product) -> str:
    return ", ".join(variant.sku for variant in product.variants.all()) or "—"


def details(product: Product) -> str:
    """The attribute values (colour, pattern, …) that tell same-titled products apart."""
    return ", ".join(str(value) for value in product.attributes.values() if isinstance(value, str | int | float))


def price(product: Product) -> str:
    return f"{product.price} {product.currency}"


class ProductChooserColumnsMixin:
    """Title alone cannot tell two "Weft Studio Cashmere Throw" apart: add a thumbnail, SKUs, details and price."""

    @property
    def columns(self):
        title, *rest = super().columns
        return [ThumbnailColumn("image", label="", width="64"), title,
                Column("sku", label="SKU", accessor=skus), Column("details", accessor=details),
                Column("price", accessor=price), Column("category"), *rest]


class ProductChooseView(ProductChooserColumnsMixin, ChooseView):
    pass


class ProductChooseResultsView(ProductChooserColumnsMixin, ChooseResultsView):
    pass


class ProductChooserViewSet(SnippetChooserViewSet):
    choose_view_class = ProductChooseView
    choose_results_view_class = ProductChooseResultsView

    def get_object_list(self):
        # One query each for the variants and the thumbnails' renditions, not one per row.
        images = get_image_model().objects.prefetch_renditions(CHOOSER_THUMBNAIL)
        return Product.objects.select_related("category__parent__parent").prefetch_related(
            Prefetch("variants", queryset=ProductVariant.objects.order_by("sort_order")),
            Prefetch("image", queryset=images))


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
    chooser_viewset_class = ProductChooserViewSet
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
            FieldPanel("unit_cost"),
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
