"""StreamField blocks merchandisers compose pages from. One shared StreamBlock serves every page type."""

from django.core.validators import RegexValidator
from wagtail import blocks
from wagtail.images.blocks import ImageChooserBlock
from wagtail.snippets.blocks import SnippetChooserBlock

SITE_OR_WEB_ADDRESS = RegexValidator(
    r"^(/[^\s]*|https?://[^\s]+)$", "Use a path on this site (/shop/) or a full web address (https://…)."
)


class HeadingBlock(blocks.StructBlock):
    """A section heading; level 2 or 3 keeps the page outline accessible."""

    text = blocks.CharBlock(max_length=120, help_text="The heading shoppers read.")
    level = blocks.ChoiceBlock(
        choices=[("h2", "Section (H2)"), ("h3", "Subsection (H3)")], default="h2",
        help_text="H2 for a new section, H3 below it.",
    )

    class Meta:
        icon = "title"
        template = "blocks/heading_block.html"
        description = "A section heading."
        preview_value = {"text": "New in this week", "level": "h2"}


class ImageBlock(blocks.StructBlock):
    """A full-width picture with an optional caption."""

    image = ImageChooserBlock(help_text="Landscape pictures of at least 1200 px wide look best.")
    caption = blocks.CharBlock(required=False, max_length=200, help_text="Shown under the picture.")
    alt_text = blocks.CharBlock(required=False, max_length=200,
                                help_text="Describe the picture for screen readers; empty uses its title.")

    class Meta:
        icon = "image"
        template = "blocks/image_block.html"
        description = "A picture with a caption."


class HeroBlock(blocks.StructBlock):
    """A banner: headline, short text, a call to action and an optional background picture."""

    headline = blocks.CharBlock(max_length=100, help_text="Short and concrete: what the shopper gets.")
    text = blocks.TextBlock(required=False, max_length=300, help_text="One or two sentences under the headline.")
    image = ImageChooserBlock(required=False, help_text="Background picture; text stays readable over it.")
    link_text = blocks.CharBlock(required=False, max_length=40, help_text='Button label, e.g. "Shop kitchen".')
    link_page = blocks.PageChooserBlock(required=False, help_text="Where the button goes (a page of this site).")
    link_url = blocks.CharBlock(
        required=False, max_length=300, validators=[SITE_OR_WEB_ADDRESS],
        help_text="…or an address, used when no page is chosen: /shop/kitchen/ or https://…",
    )

    class Meta:
        icon = "pick"
        template = "blocks/hero_block.html"
        description = "A banner with headline and button."
        preview_value = {"headline": "Autumn at home", "text": "Warm throws, slow coffee and soft light.",
                         "link_text": "Shop the edit", "link_url": "/shop/"}


class ProductGridBlock(blocks.StructBlock):
    """Hand-picked products in a grid, in the order chosen."""

    title = blocks.CharBlock(required=False, max_length=120, help_text="Optional heading above the grid.")
    products = blocks.ListBlock(
        SnippetChooserBlock("catalogue.Product"), min_num=1, max_num=24,
        help_text="Products to show, in this order. Inactive products are skipped.",
    )

    class Meta:
        icon = "table"
        template = "blocks/product_grid_block.html"
        description = "A grid of hand-picked products."

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context)
        context["products"] = [p for p in value["products"] if p is not None and p.active]
        return context

    def get_preview_value(self):
        from commerce.catalogue.models import Product

        return {"title": "Editors' picks", "products": list(Product.objects.active().order_by("-stock")[:8])}


class StorefrontStreamBlock(blocks.StreamBlock):
    """Every block a merchandiser can put on a home or content page."""

    hero = HeroBlock()
    heading = HeadingBlock()
    paragraph = blocks.RichTextBlock(
        icon="pilcrow", features=["bold", "italic", "link", "ol", "ul", "h3"],
        template="blocks/paragraph_block.html", help_text="Body text.",
        description="Formatted text.",
    )
    image = ImageBlock()
    product_grid = ProductGridBlock()
