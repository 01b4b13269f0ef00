"""Catalogue: a category tree and products with inline variants and images.

The catalogue owns a product's current selling price (``Product.price``); pricing services change it
through ``commerce.catalogue.services.set_current_price`` and never the other way round.
"""

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils.text import slugify
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel
from wagtail.models import Orderable
from wagtail.search import index

MONEY = {"max_digits": 10, "decimal_places": 2, "validators": [MinValueValidator(Decimal("0"))]}


def unique_slug(model, text: str, *, exclude_pk=None, max_length: int = 200) -> str:
    """``text`` slugified, with ``-2``, ``-3``… appended until no other ``model`` row has it."""
    base = slugify(text)[: max_length - 8] or "item"
    slug, n = base, 1
    taken = model.objects.exclude(pk=exclude_pk)
    while taken.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


class Category(index.Indexed, models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True, blank=True, help_text="URL part: /shop/<slug>/")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
        help_text="Leave empty for a top-level department.",
    )
    description = models.TextField(blank=True)
    image = models.ForeignKey(
        "wagtailimages.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sort_order = models.PositiveSmallIntegerField(default=0, help_text="Lower first in menus.")

    search_fields = [index.SearchField("name"), index.AutocompleteField("name"), index.FilterField("parent")]

    class Meta:
        ordering = ["sort_order", "name"]
        verbose_name_plural = "categories"
        constraints = [
            models.CheckConstraint(condition=~models.Q(parent=models.F("id")), name="category_not_own_parent"),
        ]

    def __str__(self):
        return self.path_display

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = unique_slug(Category, self.name, exclude_pk=self.pk, max_length=140)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("catalogue:category", kwargs={"slug": self.slug})

    def clean(self):
        node = self.parent
        while node is not None:
            if node.pk == self.pk and self.pk is not None:
                raise ValidationError({"parent": "A category cannot sit below itself."})
            node = node.parent

    def ancestors(self) -> list["Category"]:
        """From the top-level department down to (and including) this category."""
        chain, node, seen = [], self, set()
        while node is not None and node.pk not in seen:
            seen.add(node.pk)
            chain.append(node)
            node = node.parent
        return list(reversed(chain))

    @property
    def path_display(self) -> str:
        return " > ".join(c.name for c in self.ancestors())

    def descendant_ids(self) -> list[int]:
        """This category's id and every id below it (the tree is small: one query per level)."""
        ids, frontier = [self.pk], [self.pk]
        while frontier:
            frontier = list(Category.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
            ids.extend(frontier)
        return ids


class ProductQuerySet(models.QuerySet):
    def active(self):
        return self.filter(active=True)

    def available(self):
        """Products a shopper can buy now: active and in stock."""
        return self.filter(active=True, stock__gt=0)

    def in_category(self, category: Category):
        return self.filter(category_id__in=category.descendant_ids())


class PriceList(models.TextChoices):
    """Which of a product's prices a shopper pays. Everyone pays the current price (the one dynamic
    pricing moves) unless a pricing experiment puts them on the base price an editor set
    (``commerce.customers.experiments.price_list_for``)."""

    CURRENT = "current", "Current price"
    BASE = "base", "Base price"


class Product(index.Indexed, ClusterableModel):
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True, blank=True, help_text="URL part: /products/<slug>/")
    description = models.TextField(blank=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    attributes = models.JSONField(
        default=dict, blank=True,
        help_text='Key facts shoppers filter and search by, e.g. {"colour": "oak", "material": "wood"}.',
    )
    base_price = models.DecimalField(help_text="List price before any dynamic pricing.", **MONEY)
    price = models.DecimalField(
        blank=True, help_text="Current selling price. Empty means the base price; pricing rules move it.", **MONEY
    )
    prior_price = models.DecimalField(
        null=True, blank=True, editable=False,
        help_text="The lowest price of the days before the current price was set (settings.VITRINE_PRIOR_PRICE_DAYS); "
                  "a reduction is shown only against it. Written by dynamic pricing on every price change.", **MONEY)
    currency = models.CharField(max_length=3, default=settings.VITRINE_CURRENCY)
    unit_cost = models.DecimalField(
        null=True, blank=True, help_text="What one unit costs the shop, for margin-based merchandising. "
                                         "Never shown to shoppers. Empty: unknown.", **MONEY)
    image = models.ForeignKey(
        "wagtailimages.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Main picture in listings.",
    )
    stock = models.PositiveIntegerField(default=0, help_text="Units on hand when the product has no variants.")
    active = models.BooleanField(default=True, help_text="Inactive products are hidden from the shop.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProductQuerySet.as_manager()

    search_fields = [
        index.SearchField("title", boost=3),
        index.AutocompleteField("title"),
        index.SearchField("description"),
        index.FilterField("category"),
        index.FilterField("active"),
    ]

    class Meta:
        ordering = ["title"]
        indexes = [
            models.Index(fields=["category", "active"]), models.Index(fields=["-created_at"]),
            # Trigrams of the upper-cased title serve ``title__icontains`` (search-box suggestions).
            GinIndex(OpClass(Upper("title"), name="gin_trgm_ops"), name="product_title_trigram"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(base_price__gte=0), name="product_base_price_gte_0"),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="product_price_gte_0"),
            models.CheckConstraint(condition=models.Q(prior_price__gte=0) | models.Q(prior_price__isnull=True),
                                   name="product_prior_price_gte_0"),
            models.CheckConstraint(condition=models.Q(unit_cost__gte=0) | models.Q(unit_cost__isnull=True),
                                   name="product_unit_cost_gte_0"),
            models.CheckConstraint(condition=models.Q(currency__regex=r"^[A-Z]{3}$"), name="product_currency_iso"),
        ]

    def __str__(self):
        return self.title

    def clean(self):
        if not isinstance(self.attributes, dict):
            raise ValidationError({"attributes": "Attributes must be a JSON object of name → value."})
        self.currency = (self.currency or "").upper()

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = unique_slug(Product, self.title, exclude_pk=self.pk, max_length=220)
        if self.price is None:
            self.price = self.base_price
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("catalogue:product", kwargs={"slug": self.slug})


class ProductVariant(Orderable):
    product = ParentalKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField(max_length=64, unique=True)
    options = models.JSONField(default=dict, blank=True, help_text='What sets it apart, e.g. {"size": "L"}.')
    price = models.DecimalField(null=True, blank=True, help_text="Leave empty to sell at the product's price.", **MONEY)
    stock = models.PositiveIntegerField(default=0)

    class Meta(Orderable.Meta):
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gte=0) | models.Q(price__isnull=True),
                                   name="variant_price_gte_0"),
        ]

    def __str__(self):
        options = ", ".join(f"{k}: {v}" for k, v in (self.options or {}).items())
        return f"{self.product.title} ({options or self.sku})"

    def clean(self):
        if not isinstance(self.options, dict):
            raise ValidationError({"options": "Options must be a JSON object, e.g. {\"size\": \"L\"}."})


class ProductImage(Orderable):
    product = ParentalKey(Product, on_delete=models.CASCADE, related_name="gallery")
    image = models.ForeignKey("wagtailimages.Image", on_delete=models.CASCADE, related_name="+")
    caption = models.CharField(max_length=200, blank=True)
