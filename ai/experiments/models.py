"""A/B experiments on AI surfaces: the experiment (a snippet with inline variants) and the persisted
assignments of logged-in customers. Anonymous visitors are assigned by hash and need no row
(``ai.experiments.serving``)."""

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel
from wagtail.models import Orderable

from ai.common import CarouselStrategy
from commerce.catalogue.models import PriceList
from commerce.customers.models import Customer


class Surface(models.TextChoices):
    RECOMMENDATION_BLOCK = "recommendation_block", "Recommendation block"
    SEARCH = "search", "Search"
    PRICING = "pricing", "Pricing"


# Surfaces with no place to choose an experiment: the running one applies to every page, so at most
# one runs at a time.
STORE_WIDE_SURFACES = (Surface.SEARCH, Surface.PRICING)


class Metric(models.TextChoices):
    RECOMMENDATION_CTR = "recommendation_ctr", "Recommendation click-through"
    SEARCH_CONVERSION = "search_conversion", "Search-to-purchase conversion (7 days)"
    AVERAGE_ORDER_VALUE = "average_order_value", "Average order value"
    REPEAT_PURCHASE = "repeat_purchase", "30-day repeat purchase"
    REVENUE_PER_VISITOR = "revenue_per_visitor", "Revenue per exposed shopper (7 days)"
    RETURN_RATE = "return_rate", "Return rate (30 days)"

    @property
    def lower_is_better(self) -> bool:
        """Returns cost money: the one metric a variant harms by raising it."""
        return self is Metric.RETURN_RATE


def default_guardrails() -> list[str]:
    """Money a test must never lose, and returns it must never raise, whatever its primary metric."""
    return [Metric.SEARCH_CONVERSION.value, Metric.REVENUE_PER_VISITOR.value, Metric.RETURN_RATE.value]


class SearchStrategy:
    HYBRID = "hybrid"
    KEYWORD = "keyword"


class PricingStrategy:
    DYNAMIC = "dynamic"  # the current price, moved by the pricing engine
    BASE = "base"  # the base price an editor set: the price without dynamic pricing

    PRICE_LISTS = {DYNAMIC: PriceList.CURRENT, BASE: PriceList.BASE}


# What a variant may do on each surface. Carousel strategies that need a chosen product (similar,
# bought together) are left out: an experiment's variants must work on any block they are chosen in.
STRATEGIES = {
    Surface.RECOMMENDATION_BLOCK: [
        (CarouselStrategy.PERSONALISED, "Carousel: personalised (ALS)"),
        (CarouselStrategy.TRENDING, "Carousel: trending / popularity"),
        (CarouselStrategy.RECENTLY_VIEWED, "Carousel: recently viewed"),
    ],
    Surface.SEARCH: [
        (SearchStrategy.HYBRID, "Search: hybrid (keyword + semantic)"),
        (SearchStrategy.KEYWORD, "Search: keyword only"),
    ],
    Surface.PRICING: [
        (PricingStrategy.DYNAMIC, "Pricing: dynamic price"),
        (PricingStrategy.BASE, "Pricing: base price"),
    ],
}
STRATEGY_CHOICES = [choice for choices in STRATEGIES.values() for choice in choices]


def variant_problems(surface: str, variants: list["Variant"]) -> list[str]:
    """Why a set of variants cannot run on ``surface`` (empty when it can)."""
    problems = []
    if len(variants) < 2:
        problems.append("An experiment needs at least two variants.")
    controls = sum(1 for variant in variants if variant.is_control)
    if controls != 1:
        problems.append(f"Exactly one variant must be the control ({controls} are).")
    keys = [variant.key for variant in variants]
    if len(set(keys)) != len(keys):
        problems.append("Variant keys must be different.")
    allowed = {value for value, _ in STRATEGIES.get(surface, [])}
    surface_name = Surface(surface).label if surface in Surface.values else repr(surface)
    for variant in variants:
        if variant.strategy not in allowed:
            problems.append(f"Variant {variant.key!r}: strategy {variant.strategy!r} does not apply to {surface_name}.")
        if not variant.weight or variant.weight <= 0:
            problems.append(f"Variant {variant.key!r}: the weight must be positive.")
    return problems


class Experiment(ClusterableModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        FINISHED = "finished", "Finished"

    key = models.SlugField(max_length=64, unique=True,
                           help_text="Stable identifier: it seeds the assignment hash and tags events. Never "
                                     "reuse a key, or shoppers keep their old variants.")
    name = models.CharField(max_length=200)
    hypothesis = models.TextField(help_text="What you expect and why, e.g. “Personalised carousels raise the "
                                            "click-through of the home page carousel by 10%”.")
    surface = models.CharField(max_length=32, choices=Surface.choices)
    primary_metric = models.CharField(max_length=32, choices=Metric.choices,
                                      help_text="The one business metric the decision is made on.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True,
                              editable=False)
    starts_at = models.DateTimeField(null=True, blank=True,
                                     help_text="Set when the experiment is started, if left empty.")
    ends_at = models.DateTimeField(null=True, blank=True,
                                   help_text="Optional: after this the surfaces go back to their default.")
    minimum_sample_size = models.PositiveIntegerField(
        default=1000, validators=[MinValueValidator(1)],
        help_text="Exposed shoppers each variant needs before the result may be read (from a power "
                  "calculation: see docs/experiments.md).")
    guardrail_metrics = ArrayField(
        models.CharField(max_length=32, choices=Metric.choices), default=default_guardrails, blank=True,
        help_text="Metrics no variant may make worse: a variant significantly worse than the control on one (lower, "
                  "or for the return rate higher; by the always-valid test, checked every 15 minutes) pauses the "
                  "experiment.")
    guardrail_note = models.TextField(blank=True, editable=False,
                                      help_text="Why the guardrail check paused the experiment (cleared on start).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("manage_experiment", "Can start, pause and finish experiments")]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__isnull=True) | Q(starts_at__isnull=True)
                                   | Q(ends_at__gt=F("starts_at")), name="experiment_ends_after_start"),
            models.CheckConstraint(condition=Q(minimum_sample_size__gte=1), name="experiment_min_sample_gte_1"),
            models.CheckConstraint(condition=~Q(status="running") | Q(starts_at__isnull=False),
                                   name="experiment_running_has_start"),
            models.UniqueConstraint(fields=["surface"],
                                    condition=Q(status="running", surface__in=STORE_WIDE_SURFACES),
                                    name="one_running_store_wide_experiment"),
        ]

    def __str__(self):
        return f"{self.name} ({self.key})"

    def clean(self):
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "The experiment must end after it starts."})
        errors = {}
        if self.primary_metric == Metric.RECOMMENDATION_CTR and self.surface != Surface.RECOMMENDATION_BLOCK:
            errors["primary_metric"] = ("Click-through is measured on recommendation blocks only: choose a "
                                        "purchase metric for this surface.")
        # In-memory variants too (a cluster being edited), not only stored ones.
        if problems := variant_problems(self.surface, list(self.variants.all())):
            errors[NON_FIELD_ERRORS] = problems
        if errors:
            raise ValidationError(errors)

    def ordered_variants(self) -> list["Variant"]:
        """The control first, then the others in their editor order (tables, counts, comparisons)."""
        return sorted(self.variants.all(), key=lambda v: (not v.is_control, v.sort_order or 0, v.pk or 0))


class Variant(Orderable):
    experiment = ParentalKey(Experiment, on_delete=models.CASCADE, related_name="variants")
    key = models.SlugField(max_length=32, help_text="Short and stable (e.g. “a”, “b”): events carry it.")
    name = models.CharField(max_length=100)
    weight = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)],
                                         help_text="Relative share of traffic (50 and 50, or 70 and 30).")
    strategy = models.CharField(max_length=32, choices=STRATEGY_CHOICES)
    is_control = models.BooleanField(default=False, help_text="The current behaviour, compared against.")

    class Meta(Orderable.Meta):
        constraints = [
            models.UniqueConstraint(fields=["experiment", "key"], name="variant_key_unique_in_experiment"),
            models.UniqueConstraint(fields=["experiment"], condition=Q(is_control=True),
                                    name="one_control_per_experiment"),
            models.CheckConstraint(condition=Q(weight__gte=1), name="variant_weight_gte_1"),
        ]

    def __str__(self):
        return f"{self.name} ({self.key})"


class ExperimentAssignment(models.Model):
    """A logged-in customer's variant, fixed the first time, so it follows them across devices."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="assignments")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    variant_key = models.CharField(max_length=32)
    assigned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["experiment", "customer"], name="one_assignment_per_customer")]

    def __str__(self):
        return f"{self.customer_id} → {self.experiment_id}:{self.variant_key}"
