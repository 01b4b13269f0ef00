"""What recommendations serve from: trained models, their factors, the precomputed lists, and the rules
merchandisers manage.

Training writes a new ``RecommendationModel`` with its factors and lists, then makes it current; serving
reads only the current model's rows (or Redis copies of them), never the factors of a whole catalogue.
"""

from django.contrib import admin
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from modelcluster.fields import ParentalManyToManyField
from modelcluster.models import ClusterableModel
from pgvector.django import VectorField

from ai.common import CarouselStrategy
from ai.recommendations.rows import SURFACES
from commerce.catalogue.models import Category, Product
from commerce.customers.models import Customer


class RecommendationModel(models.Model):
    """One ALS training run: its settings, what it covered and how long it took."""

    version = models.CharField(max_length=32, unique=True)
    trained_at = models.DateTimeField(db_index=True)
    settings = models.JSONField(help_text="Weights and hyper-parameters used (RecommenderSettings)")
    customers = models.PositiveIntegerField(help_text="Customers with interactions in the window")
    products = models.PositiveIntegerField(help_text="Products with interactions in the window")
    interactions = models.PositiveIntegerField(help_text="Non-zero customer × product cells")
    customers_with_recommendations = models.PositiveIntegerField(default=0)
    catalogue_coverage = models.FloatField(default=0.0,
                                           help_text="Share of active products recommended to someone")
    training_seconds = models.FloatField(default=0.0)
    precompute_seconds = models.FloatField(default=0.0)
    is_current = models.BooleanField(default=False)
    item_data = models.BinaryField(editable=False, help_text="BM25 item-item neighbours and popularity (npz)")
    selection = models.JSONField(default=dict, blank=True,
                                 help_text="The candidates scored on the shop's own validation slice and the winner")

    class Meta:
        ordering = ["-trained_at"]
        get_latest_by = "trained_at"
        constraints = [
            models.UniqueConstraint(fields=["is_current"], condition=models.Q(is_current=True),
                                    name="one_current_recommendation_model"),
        ]

    def __str__(self):
        return f"model {self.version} ({self.trained_at:%Y-%m-%d %H:%M})"


class RecommendationEmbedding(models.Model):
    """An ALS factor vector of a customer or a product, for one model version."""

    class Kind(models.TextChoices):
        CUSTOMER = "customer"
        PRODUCT = "product"

    pk = models.CompositePrimaryKey("model", "kind", "object_id")
    model = models.ForeignKey(RecommendationModel, on_delete=models.CASCADE, related_name="embeddings")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    object_id = models.BigIntegerField(help_text="Customer or product id, by kind")
    factors = VectorField(help_text="ALS latent factors (the model's factor count)")

    def __str__(self):
        return f"{self.kind} {self.object_id} in {self.model_id}"


class CustomerRecommendations(models.Model):
    """A customer's precomputed top-N: ranked products, their scores and the history item each is
    most like ("because you bought …"). Rewritten by training and by the real-time refresh."""

    customer = models.OneToOneField(Customer, primary_key=True, on_delete=models.CASCADE, related_name="+")
    model = models.ForeignKey(RecommendationModel, on_delete=models.CASCADE, related_name="+")
    product_ids = ArrayField(models.BigIntegerField())
    scores = ArrayField(models.FloatField())
    because = ArrayField(models.BigIntegerField(null=True), help_text="Per product: the history product "
                                                                      "it is most similar to, or null")
    computed_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "customer recommendations"

    def __str__(self):
        return f"recommendations for customer {self.customer_id}"


class ProductRecommendations(models.Model):
    """Precomputed product-page lists: similar products (item factors, else text embeddings) and
    products bought in the same orders."""

    class Source(models.TextChoices):
        FACTORS = "factors", "Co-behaviour and text embeddings (training)"
        EMBEDDING = "embedding", "Text embeddings"

    product = models.OneToOneField(Product, primary_key=True, on_delete=models.CASCADE, related_name="+")
    similar_ids = ArrayField(models.BigIntegerField(), default=list)
    similar_scores = ArrayField(models.FloatField(), default=list)
    similar_source = models.CharField(max_length=16, choices=Source.choices, blank=True)
    bought_together_ids = ArrayField(models.BigIntegerField(), default=list)
    bought_together_scores = ArrayField(models.FloatField(), default=list)
    computed_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "product recommendations"

    def __str__(self):
        return f"recommendations for product {self.product_id}"


def placement_choices() -> list[tuple[str, str]]:
    """Where a rule can apply: the carousel blocks' strategies (a strategy that is an API surface too is
    the same row there) and the other surfaces ``serving.recommend`` serves. A callable, so a new surface
    or strategy needs no migration."""
    strategies = dict(CarouselStrategy.CHOICES)
    return [*((surface, f"{surface.capitalize()} list (pages and the API)") for surface in SURFACES
              if surface not in strategies),
            *((strategy, f"Carousel: {label}") for strategy, label in CarouselStrategy.CHOICES)]


class RecommendationRule(ClusterableModel):
    """A merchandiser's rule for recommendation rows: pin a product at a position, hide products or
    categories, boost or bury a category or an attribute value, and leave out products a shopper should
    not be offered. Applied at serve time (``rules``) to the rows of its placements, while enabled and
    inside its window. A cluster so ``clean()`` checks the products and categories being edited."""

    name = models.CharField(max_length=100, help_text="What the rule is for, as the list shows it.")
    placements = ArrayField(
        models.CharField(max_length=32, choices=placement_choices),
        help_text="The recommendation rows the rule changes.")
    pin_product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                    help_text="Pin: a product to show in every row of these placements…")
    pin_position = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MinValueValidator(1)],
                                                    help_text="… at this position, from 1 (the first card).")
    hidden_products = ParentalManyToManyField(Product, blank=True, related_name="+",
                                              help_text="Hide: these products never appear in the rows.")
    hidden_categories = ParentalManyToManyField(
        Category, blank=True, related_name="+",
        help_text="Hide: no product of these categories (or their subcategories) appears in the rows.")
    boost_category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                                       help_text="Boost or bury: products of this category and its subcategories…")
    boost_attribute_name = models.CharField(max_length=50, blank=True,
                                            help_text="… or products with this attribute, e.g. colour…")
    boost_attribute_value = models.CharField(max_length=100, blank=True, help_text="… of this value, e.g. red…")
    boost_min_margin_percent = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(99)],
        help_text="… or products whose margin is at least this percentage of their price (price less unit "
                  "cost; products without a unit cost are never boosted by margin).")
    boost_percent = models.SmallIntegerField(
        default=0, validators=[MinValueValidator(-100), MaxValueValidator(1000)],
        help_text="How much further up (positive) or down (negative) the row those products move: 100 takes a "
                  "product from 6th to about 3rd, -50 from 3rd to about 6th, -100 to the end of the row.")
    exclude_zero_price = models.BooleanField(
        default=False, help_text="Leave out products priced 0 (samples, placeholders).")
    exclude_in_cart = models.BooleanField(
        default=False, help_text="Leave out what is already in the shopper's cart.")
    exclude_bought_within_days = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)],
        help_text="Leave out what the shopper ordered in this many days (empty: keep them).")
    enabled = models.BooleanField(default=True, help_text="Only enabled rules change recommendations.")
    starts_at = models.DateTimeField(null=True, blank=True, help_text="Empty: from now.")
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Empty: until disabled.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(starts_at__isnull=True) | models.Q(ends_at__isnull=True)
                                   | models.Q(ends_at__gt=models.F("starts_at")),
                                   name="recommendation_rule_window_order"),
            models.CheckConstraint(condition=models.Q(pin_position__isnull=True) | models.Q(pin_position__gte=1),
                                   name="recommendation_rule_pin_position"),
            models.CheckConstraint(condition=models.Q(boost_percent__gte=-100),
                                   name="recommendation_rule_boost_floor"),
        ]

    def __str__(self):
        return self.name

    @admin.display(description="Placements")
    def placement_names(self) -> str:
        labels = dict(placement_choices())
        return ", ".join(labels.get(placement, placement) for placement in self.placements)

    def clean(self):
        """Refuse a rule that could do nothing or that its placements cannot use (the admin's form puts the
        edited products and categories on the instance first: ``forms.RecommendationRuleForm``)."""
        errors = {}
        self.name = self.name.strip()
        self.placements = list(dict.fromkeys(self.placements or []))
        self.boost_attribute_name = self.boost_attribute_name.strip()
        self.boost_attribute_value = self.boost_attribute_value.strip()
        hidden = {product.pk for product in self.hidden_products.all()}
        if not self.placements:
            errors["placements"] = "Choose the rows the rule changes."
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = "The rule must end after it starts."
        if self.pin_product_id and not self.pin_position:
            errors["pin_position"] = "Say at which position to pin the product."
        elif self.pin_position and not self.pin_product_id:
            errors["pin_product"] = "Choose the product to pin (another rule can pin the next)."
        elif self.pin_product_id in hidden:
            errors["pin_product"] = "This rule hides the product it pins."
        attribute = bool(self.boost_attribute_name) + bool(self.boost_attribute_value)
        margin = self.boost_min_margin_percent is not None
        boosts = bool(self.boost_category_id) or attribute or margin
        if attribute == 1:
            errors["boost_attribute_value"] = "Give both the attribute and its value."
        elif bool(self.boost_category_id) + bool(attribute) + margin > 1:
            errors["boost_category"] = "Boost one thing: a category, an attribute value or a margin."
        elif boosts and not self.boost_percent:
            errors["boost_percent"] = "Say how far to move the products: a positive or a negative percentage."
        elif self.boost_percent and not boosts:
            errors["boost_category"] = "Choose the category or the attribute value to boost or bury."
        actions = (self.pin_product_id, hidden, self.hidden_categories.all(), boosts, self.exclude_zero_price,
                   self.exclude_in_cart, self.exclude_bought_within_days)
        if not errors and not any(actions):
            errors["__all__"] = "The rule does nothing: pin, hide, boost or bury, or leave out some products."
        if errors:
            raise ValidationError(errors)
