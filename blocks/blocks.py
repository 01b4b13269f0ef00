"""StreamField blocks merchandisers compose pages from. One shared StreamBlock serves every page type.

AI blocks (recommendation carousel, semantic search, dynamically priced products) read only caches and
precomputed tables through the ``ai.*`` serving functions. Shopper-specific ones render a shared
fallback and swap in the shopper's version after the page loads (``blocks.views.block_fragment``); a
failing service is logged and replaced by the block's fallback, never a broken page.
"""

import logging

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.template.loader import render_to_string
from django.utils import timezone
from wagtail import blocks
from wagtail.blocks import StructBlockValidationError
from wagtail.images.blocks import ImageChooserBlock
from wagtail.snippets.blocks import SnippetChooserBlock

from ai.common import CarouselStrategy
from ai.experiments import serving as experiments
from ai.recommendations import serving as recommendations
from ai.search import serving as search
from ai.search.storefront import shopper_search
from blocks import fragments
from commerce.catalogue import services as catalogue
from commerce.catalogue.models import Product
from commerce.customers.experiments import price_list_for
from commerce.customers.services import customer_for

logger = logging.getLogger(__name__)


SITE_OR_WEB_ADDRESS = RegexValidator(
    r"^(/[^\s]*|https?://[^\s]+)$", "Use a path on this site (/shop/) or a full web address (https://…)."
)


class CachedHTMLMixin:
    """A block whose HTML is the same for every shopper of a price list, cached under ``fragments.shared_key``
    (page revision, block, data versions) plus ``data_version``. The key is made of the block's stored (raw)
    data, so the page renderer (``blocks.templatetags.page_blocks``) reads every cached block of a page in
    one round trip without building any block value (a chooser's query) first. ``html_for_request`` adds
    what differs per request to HTML from the cache or fresh from ``render_uncached``."""

    html_ttl = fragments.SHARED_FRAGMENT_TTL

    def data_version(self, raw_value: dict, request) -> str:
        """What the HTML depends on besides the page revision, the catalogue and the price list."""
        return ""

    def html_key(self, raw_value: dict, context: dict) -> str | None:
        """The key of this block's HTML (None: never cached, e.g. in a preview)."""
        return fragments.shared_key(context, self.data_version(raw_value, context.get("request")))

    def render_block(self, value, context: dict) -> str:
        """The block's template rendered, no cache involved."""
        return super().render(value, context)

    def render_uncached(self, value, raw_value: dict, context: dict) -> str:
        return self.render_block(value, context)

    def html_for_request(self, html: str, raw_value: dict, context: dict) -> str:
        return html

    def render(self, value, context=None):
        context = dict(context or {})
        raw_value = self.get_prep_value(value)
        html = fragments.cached(self.html_key(raw_value, context), self.html_ttl,
                                lambda: self.render_uncached(value, raw_value, context))
        return self.html_for_request(html, raw_value, context)


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


class ImageBlock(CachedHTMLMixin, blocks.StructBlock):
    """A full-width picture with an optional caption (cached: no image or rendition query per view)."""

    image = ImageChooserBlock(help_text="Landscape pictures of at least 1200 px wide look best.")
    caption = blocks.CharBlock(required=False, max_length=200, help_text="Shown under the picture.")
    alt_text = blocks.CharBlock(required=False, max_length=200,
                                help_text="Describe the picture for screen readers; empty uses its title.")

    class Meta:
        icon = "image"
        template = "blocks/image_block.html"
        description = "A picture with a caption."


class HeroBlock(CachedHTMLMixin, blocks.StructBlock):
    """A banner: headline, short text, a call to action and an optional background picture (cached: no image,
    rendition or linked page query per view)."""

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


class SamplePreviewMixin:
    """Block previews (the block picker's) fill the block with sample products: a note says so, lest an editor
    take them for what the block will show."""

    preview_note = ""

    def get_preview_note(self, value) -> str:
        return self.preview_note

    def get_preview_context(self, value, parent_context=None):
        return {**super().get_preview_context(value, parent_context), "preview_note": self.get_preview_note(value)}


class ProductGridBlock(SamplePreviewMixin, CachedHTMLMixin, blocks.StructBlock):
    """Hand-picked products in a grid, in the order chosen. The same for every shopper of a price list: a
    page's grids cost no query and no card rendering while cached."""

    title = blocks.CharBlock(required=False, max_length=120, help_text="Optional heading above the grid.")
    products = blocks.ListBlock(
        SnippetChooserBlock("catalogue.Product"), min_num=1, max_num=24,
        help_text="Products to show, in this order. Inactive products are skipped.",
    )

    class Meta:
        icon = "table"
        template = "blocks/product_grid_block.html"
        description = "A grid of hand-picked products."

    html_ttl = fragments.PRICED_FRAGMENT_TTL

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context)
        # Active ones in the chosen order, with the cards' pictures and variants prefetched (one query
        # each, not three per product).
        context["products"] = catalogue.cards([p.pk for p in value["products"] if p is not None],
                                              include_sold_out=True)
        return context

    def get_preview_value(self):
        return {"title": "Editors' picks", "products": list(Product.objects.active().order_by("-stock")[:8])}

    preview_note = "The best-stocked products stand in: the grid shows the products you choose."


class OptionalSnippetChooserBlock(SnippetChooserBlock):
    """A snippet chooser that may stay empty. Left empty it costs no query when the page loads
    (Wagtail's chooser would run ``in_bulk([None])`` for every empty one on every page view)."""

    def bulk_to_python(self, values):
        if all(value is None for value in values):
            return [None] * len(values)
        return super().bulk_to_python(values)


class AIBlock(CachedHTMLMixin, blocks.StructBlock):
    """Base of the blocks that show AI output.

    ``get_context`` reads caches and precomputed tables through ``ai.*`` serving functions. The HTML of
    blocks that are the same for every shopper is cached (``CachedHTMLMixin``) per page revision, block,
    catalogue version and AI data version (``data_version``), so publishing, a product or price change or a
    new model retires it; it is kept per price list too (a pricing experiment's variants see different prices).
    Shopper-specific blocks (``is_per_shopper``) render their shared fallback plus the
    address of their own fragment, which the page's script fetches after load (without JS the
    fallback stays). An exception anywhere is logged and the block's fallback is rendered instead;
    if even that fails the block renders nothing: the page always renders.
    """

    fallback_template = "blocks/ai_fallback_block.html"

    def is_per_shopper(self, raw_value: dict) -> bool:
        """Whether shoppers see their own version (fetched after the page loads), from the stored data."""
        return False

    def fallback_products(self, value) -> list:
        """What to show when the AI service fails, no AI involved: the first products of the block's
        department (or of the shop), as many as the block shows."""
        return list(catalogue.listing(value.get("category")).values_list("pk", flat=True)[: value.get("count", 8)])

    def render(self, value, context=None):
        if (context or {}).get("personal_fragment"):  # the fragment view: this shopper's version, cached there
            return self._render_safely(value, dict(context))
        return super().render(value, context)

    def render_uncached(self, value, raw_value, context):
        personal_url = fragments.personal_url(context) if self.is_per_shopper(raw_value) else None
        return self._render_safely(value, {**context, "fragment_url": personal_url})

    def _render_safely(self, value, context):
        try:
            return self.render_block(value, context)
        except Exception:
            logger.exception("%s %s failed; rendering its fallback", type(self).__name__, context.get("block_id"))
        try:
            return render_to_string(self.fallback_template, {
                "value": value, "products": catalogue.cards(self.fallback_products(value)),
                "block_id": context.get("block_id"), "price_list": price_list_for(context.get("request"))})
        except Exception:
            logger.exception("fallback of %s %s failed too; the block is left out", type(self).__name__,
                             context.get("block_id"))
            return ""

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context)
        context["block_id"] = (parent_context or {}).get("block_id")
        context["price_list"] = price_list_for(context.get("request"))  # the one its cache key was made with
        return context


class RecommendationCarouselBlock(AIBlock):
    """A row of recommended products: personalised, trending, similar to or bought with a chosen
    product, or the shopper's recently viewed, with a fallback strategy when the first has nothing."""

    title = blocks.CharBlock(max_length=120, help_text='The heading above the row, e.g. "Picked for you".')
    strategy = blocks.ChoiceBlock(
        choices=CarouselStrategy.CHOICES, default=CarouselStrategy.PERSONALISED,
        help_text="What to show. Personalised, recently viewed, buy it again and because you viewed differ per "
                  "shopper: the page shows the fallback first and swaps in the shopper's own row once loaded.")
    count = blocks.IntegerBlock(min_value=2, max_value=24, default=8, help_text="How many products (2–24).")
    category = OptionalSnippetChooserBlock("catalogue.Category", required=False,
                                           help_text="Only products in this department (and below it). Optional.")
    product = OptionalSnippetChooserBlock("catalogue.Product", required=False,
                                          help_text="Required for 'similar to' and 'bought together'.")
    fallback = blocks.ChoiceBlock(
        choices=[(CarouselStrategy.TRENDING, "Trending"), ("hide", "Hide the block")],
        default=CarouselStrategy.TRENDING,
        help_text="Shown to shoppers without their own row yet, and whenever the first strategy has nothing.")
    experiment = OptionalSnippetChooserBlock(
        "experiments.Experiment", required=False,
        help_text="Optional A/B experiment (surface “Recommendation block”). While it runs, each shopper sees "
                  "their variant's strategy instead of the one above; otherwise the block is unchanged.")

    class Meta:
        icon = "pick"
        template = "blocks/recommendation_carousel_block.html"
        description = "A row of recommended products."
        preview_value = {"title": "Picked for you", "strategy": CarouselStrategy.TRENDING, "count": 8, "category": None,
                         "product": None, "fallback": CarouselStrategy.TRENDING, "experiment": None}

    def clean(self, value):
        value = super().clean(value)
        if self.is_deferred_validation:  # a draft (autosave, "Save draft") may be half-filled; publishing checks
            return value
        if value["strategy"] in (CarouselStrategy.SIMILAR, CarouselStrategy.BOUGHT_TOGETHER) and not value["product"]:
            raise StructBlockValidationError(block_errors={"product": ValidationError(
                "Choose the product whose similar or bought-together products to show.")})
        return value

    def is_per_shopper(self, raw_value) -> bool:
        # A merchandising rule that leaves out the shopper's cart or recent orders makes any row theirs.
        strategy = raw_value.get("strategy")
        return (strategy in CarouselStrategy.PER_SHOPPER or self.live_experiment(raw_value.get("experiment"))
                is not None or recommendations.rules_need_shopper(strategy))

    def live_experiment(self, experiment_id: int | None) -> str | None:
        """The key of the chosen experiment while it runs on this surface (variants differ per shopper)."""
        running = experiments.definition_for_id(experiment_id) if experiment_id else None
        if running is None or running.surface != "recommendation_block" or not running.is_live(timezone.now()):
            return None
        return running.key

    def data_version(self, raw_value, request) -> str:
        # Starting or stopping the experiment changes whether the shared HTML points to a fragment.
        live = self.live_experiment(raw_value.get("experiment"))
        return fragments.request_versions(request)["model"] + (":experiment" if live else "")

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context)
        parent_context = parent_context or {}
        category_id = value["category"].pk if value["category"] else None
        product_id = value["product"].pk if value["product"] else None
        results, strategy = [], value["strategy"]
        if parent_context.get("personal_fragment"):
            request = parent_context["request"]
            variant = experiments.variant_for(
                self.live_experiment(value["experiment"].pk if value["experiment"] else None), request)
            if variant is not None:
                # Shown: the exposure, and the surface the row's impressions and clicks come from (the
                # beacon's events get the variant).
                experiments.record_exposure(variant, request, surface=f"block:{context['block_id']}")
                strategy = variant.strategy
            customer = customer_for(request.user)
            results = recommendations.carousel(strategy, customer_id=customer.pk if customer else None,
                                               visitor_id=getattr(request, "visitor_id", None),
                                               product_id=product_id, category_id=category_id, limit=value["count"])
        elif strategy not in CarouselStrategy.PER_SHOPPER:  # the shared row: everyone's until their own loads
            results = recommendations.carousel(strategy, product_id=product_id, category_id=category_id,
                                               limit=value["count"])
        if not results and value["fallback"] == CarouselStrategy.TRENDING:
            strategy = CarouselStrategy.TRENDING
            results = recommendations.carousel(CarouselStrategy.TRENDING, category_id=category_id, limit=value["count"])
        products = catalogue.cards([r.product.pk for r in results])
        reasons = {r.product.pk: r.reason for r in results}
        # ``source``: what actually filled the row (a personalised row may have fallen back to popularity).
        context.update(items=[(product, reasons.get(product.pk, "")) for product in products], strategy=strategy,
                       source=results[0].strategy if results else "")
        return context

    def get_api_representation(self, value, context=None):
        return {"title": value["title"], "strategy": value["strategy"], "count": value["count"],
                "category": value["category"].pk if value["category"] else None,
                "product": value["product"].pk if value["product"] else None, "fallback": value["fallback"],
                "personalised": self.is_per_shopper(self.get_prep_value(value))}


class SemanticSearchBlock(SamplePreviewMixin, AIBlock):
    """Search on the page: a search box whose results appear in the block, or a fixed curated query
    ("gifts for coffee lovers") shown as a product grid."""

    title = blocks.CharBlock(required=False, max_length=120, help_text="Optional heading above the block.")
    mode = blocks.ChoiceBlock(
        choices=[("curated", "A fixed query, shown as products"), ("box", "A search box with results here")],
        default="curated", help_text="A fixed query is run once for everyone and cached; a box searches "
                                     "what each shopper types.")
    query = blocks.CharBlock(required=False, max_length=200,
                             help_text='The fixed query, in shoppers\' words: "gifts for coffee lovers".')
    category = OptionalSnippetChooserBlock("catalogue.Category", required=False,
                                           help_text="Only this department.")
    max_price = blocks.DecimalBlock(required=False, min_value=0, decimal_places=2,
                                    help_text="Only products up to this price. Optional.")
    in_stock = blocks.BooleanBlock(required=False, default=True, help_text="Leave out sold-out products.")
    count = blocks.IntegerBlock(min_value=2, max_value=24, default=8, help_text="How many products (2–24).")

    class Meta:
        icon = "search"
        template = "blocks/semantic_search_block.html"
        description = "Search results on the page: a fixed query or a search box."
        preview_value = {"title": "Gifts for coffee lovers", "mode": "curated", "query": "gifts for coffee lovers",
                         "category": None, "max_price": None, "in_stock": True, "count": 8}

    def get_preview_note(self, value) -> str:
        return f"What “{value['query']}” finds in the catalogue today: the block shows its own query's results."

    def clean(self, value):
        value = super().clean(value)
        if self.is_deferred_validation:  # a draft (autosave, "Save draft") may be half-filled; publishing checks
            return value
        if value["mode"] == "curated" and not (value["query"] or "").strip():
            raise StructBlockValidationError(block_errors={"query": ValidationError(
                "Type the query whose results to show.")})
        return value

    def filters(self, raw_value) -> search.Filters:
        max_price = raw_value.get("max_price")
        return search.Filters(category_id=raw_value.get("category") or None,
                              max_price=float(max_price) if max_price not in (None, "") else None,
                              in_stock=bool(raw_value.get("in_stock")))

    def is_per_shopper(self, raw_value) -> bool:
        return raw_value.get("mode") == "box"

    def html_key(self, raw_value, context):
        # A box's results depend on what this shopper typed: never shared.
        return None if self.is_per_shopper(raw_value) else super().html_key(raw_value, context)

    def data_version(self, raw_value, request) -> str:
        """The version of the curated list itself ("pending" until the beat task caches it), so HTML made
        with the fallback is retired as soon as the list arrives."""
        try:
            ids, keyword_only = self.curated_list(raw_value, request)
        except Exception:  # the render reads it again, logs the failure and shows the fallback
            return "unavailable"
        return f"{search.curated_version(ids)}{':keyword' if keyword_only else ''}"

    def curated_list(self, raw_value, request) -> tuple[list[int] | None, bool]:
        """The curated list (None until the beat task caches it) and whether it is a keyword-only search
        variant's, which has its own list (asking records nothing: ``render`` does). Read once per request,
        for both the HTML's cache key and the render."""
        keyword_only = bool(request is not None and experiments.search_options(request).get("keyword_only"))
        wanted = (raw_value.get("query"), self.filters(raw_value), raw_value.get("count"), keyword_only)
        read = {} if request is None else request.__dict__.setdefault("curated_search_lists", {})
        if wanted not in read:
            read[wanted] = search.curated_results(*wanted[:3], keyword_only=keyword_only)
        return read[wanted], keyword_only

    def render_uncached(self, value, raw_value, context):
        if self.is_per_shopper(raw_value):  # a box: its results are here, no fragment to fetch
            return self._render_safely(value, context)
        return super().render_uncached(value, raw_value, context)

    def html_for_request(self, html, raw_value, context):
        request = context.get("request")
        if request is not None and not self.is_per_shopper(raw_value):
            experiments.record_search_exposure(request)  # shown: whether the HTML is cached or not
        return html

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context)
        request = (parent_context or {}).get("request")
        ids, query, computing = None, "", False
        if value["mode"] == "curated":
            query = value["query"]
            ids, _ = self.curated_list(self.get_prep_value(value), request)
            # Not run yet (the beat task runs it within seconds): shoppers see the department meanwhile; an
            # editor is told, rather than shown products the block will not show.
            computing = ids is None and fragments.is_preview(parent_context or {})
            if ids is None and not computing:
                ids = self.fallback_products(value)
        elif request is not None and (query := request.GET.get("q", "").strip()[:search.MAX_QUERY_LENGTH]):
            ids = shopper_search(request, query, filters=self.filters(self.get_prep_value(value)),
                                 limit=value["count"]).product_ids
        context.update(products=catalogue.cards(ids or []), query=query, computing=computing)
        return context

    def get_api_representation(self, value, context=None):
        return {"title": value["title"], "mode": value["mode"], "query": value["query"],
                "category": value["category"].pk if value["category"] else None,
                "max_price": str(value["max_price"]) if value["max_price"] is not None else None,
                "in_stock": value["in_stock"], "count": value["count"]}


class DynamicallyPricedProductBlock(SamplePreviewMixin, AIBlock):
    """Chosen products at their live dynamic price (the base price struck through when lower), with
    stock state and an add-to-cart button."""

    title = blocks.CharBlock(required=False, max_length=120, help_text="Optional heading above the products.")
    products = blocks.ListBlock(SnippetChooserBlock("catalogue.Product"), min_num=1, max_num=12,
                                help_text="Products to feature, in this order. Inactive ones are skipped.")

    class Meta:
        icon = "tag"
        template = "blocks/dynamically_priced_product_block.html"
        description = "Featured products at their live price, with add to cart."

    # Shared HTML like the other AI blocks, except that its add-to-cart forms carry the shopper's CSRF token:
    # cached with a placeholder each request replaces. Requests without CSRF middleware are rendered as they are.
    html_ttl = fragments.PRICED_FRAGMENT_TTL

    def html_key(self, raw_value, context):
        return super().html_key(raw_value, context) if fragments.csrf_token(context) else None

    def render_uncached(self, value, raw_value, context):
        token = fragments.CSRF_PLACEHOLDER if fragments.csrf_token(context) else "NOTPROVIDED"
        return self._render_safely(value, {**context, "csrf_token": token})

    def html_for_request(self, html, raw_value, context):
        return fragments.with_csrf_token(html, context)

    def fallback_products(self, value) -> list:
        return [p.pk for p in value["products"] if p is not None]

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context)
        chosen = [p.pk for p in value["products"] if p is not None]
        # Fresh rows: the price shown is the one the cart will charge (pricing writes the catalogue field).
        context["products"] = catalogue.cards(chosen, include_sold_out=True)
        return context

    def get_preview_value(self):
        return {"title": "This week's prices", "products": list(Product.objects.available().order_by("-stock")[:3])}

    preview_note = "The best-stocked products stand in: the block shows the products you choose, at their live price."

    def get_api_representation(self, value, context=None):
        return {"title": value["title"], "products": [
            {"id": p.pk, **({"price": str(p.price), "base_price": str(p.base_price), "currency": p.currency}
                            if p.active else {"price": None})}
            for p in value["products"] if p is not None]}


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
    recommendations = RecommendationCarouselBlock()
    semantic_search = SemanticSearchBlock()
    priced_products = DynamicallyPricedProductBlock()
