"""Dynamic pricing: demand signals, editor-set rules (the guardrails), proposed and applied prices.

The catalogue owns ``Product.price``; everything here changes it only through
``commerce.catalogue.services.set_current_prices`` / ``restore_base_prices``.
"""

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from commerce.catalogue.models import MONEY, Category, Product

CENT = Decimal("0.01")
PERCENT = {"max_digits": 5, "decimal_places": 2,
           "validators": [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))]}


def floor_cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_FLOOR)


def ceil_cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_CEILING)


def _percent_between_0_and_100(field: str) -> Q:
    return Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__gte": 0, f"{field}__lte": 100})


class DemandSignal(models.Model):
    """One product's demand at ``as_of`` (the end of its windows), recomputed every 30 minutes."""

    product = models.OneToOneField(Product, primary_key=True, on_delete=models.CASCADE, related_name="+")
    as_of = models.DateTimeField(db_index=True, help_text="End of the windows these figures cover.")
    views_per_hour = models.FloatField(help_text="Product views per hour over the last 24 hours.")
    add_to_cart_rate = models.FloatField(null=True, help_text="Add-to-carts per view over the last 24 hours; "
                                                              "empty without views.")
    units_last_day = models.FloatField(help_text="Units bought in the last 24 hours.")
    units_daily_average = models.FloatField(help_text="Units bought per day in the 7 days before that (the trend).")
    stock = models.IntegerField(help_text="Units on hand (the variants' sum for products with variants).")
    stock_cover_days = models.FloatField(null=True, help_text="Days the stock lasts at the expected pace; "
                                                              "empty when nothing sells.")

    def __str__(self):
        return f"demand of product {self.product_id} at {self.as_of:%Y-%m-%d %H:%M}"

    @property
    def velocity_ratio(self) -> float | None:
        """Last day's units ÷ the trend; None without a trend."""
        return self.units_last_day / self.units_daily_average if self.units_daily_average else None

    @property
    def expected_daily_units(self) -> float:
        """The faster of the last day's and the trend's pace (what ``stock_cover_days`` divides by)."""
        return max(self.units_last_day, self.units_daily_average)


class Strategy(models.TextChoices):
    RULES = "rules", "Rule-based (demand trend and stock)"
    MODEL = "model", "Demand model (gradient boosting, maximises expected revenue)"


class PricingRule(models.Model):
    """Guardrails for dynamic prices: a product's own rule, else its nearest category's, else the global one.

    The most specific rule wins even when it is disabled, so disabling a product's (or a category's)
    rule takes those products out of dynamic pricing.
    """

    name = models.CharField(max_length=120)
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                                help_text="Only this product (leave category empty).")
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                                 help_text="This category and everything below it, unless a more specific rule "
                                           "applies. Leave product and category empty for the global default.")
    min_price = models.DecimalField(null=True, blank=True, help_text="Never sell below this price.", **MONEY)
    max_price = models.DecimalField(null=True, blank=True, help_text="Never sell above this price.", **MONEY)
    max_discount_percent = models.DecimalField(
        null=True, blank=True, help_text="Never more than this % below the base price (for category and global "
                                         "rules, where one price fits no product).", **PERCENT)
    max_markup_percent = models.DecimalField(
        null=True, blank=True, help_text="Never more than this % above the base price.", **PERCENT)
    max_change_percent = models.DecimalField(
        default=Decimal("10"), help_text="Within any one interval the price moves at most this % from any price "
                                         "it had during that interval.", **PERCENT)
    interval_hours = models.PositiveSmallIntegerField(
        default=24, validators=[MinValueValidator(1), MaxValueValidator(24 * 30)],
        help_text="The interval the maximum change applies to, in hours.")
    min_hours_between_changes = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(24 * 30)],
        help_text="At most one price change per this many hours (e.g. 24: once a day); empty: no limit. "
                  "A rule's bounds and the kill switch still move a price at once.")
    auto_approve_percent = models.DecimalField(
        default=Decimal("2"), help_text="Changes of at most this % apply at once; larger ones wait for approval.",
        **PERCENT)
    strategy = models.CharField(max_length=8, choices=Strategy.choices, default=Strategy.RULES)
    enabled = models.BooleanField(default=True, help_text="Off: the products this rule governs keep their price.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(product__isnull=True) | Q(category__isnull=True),
                                   name="pricing_rule_one_scope"),
            models.UniqueConstraint(fields=["product"], name="pricing_rule_one_per_product"),
            models.UniqueConstraint(fields=["category"], name="pricing_rule_one_per_category"),
            models.UniqueConstraint(models.Value(1), condition=Q(product__isnull=True, category__isnull=True),
                                    name="pricing_rule_one_global",
                                    violation_error_message="There is already a global default rule."),
            models.CheckConstraint(condition=Q(min_price__isnull=True) | Q(max_price__isnull=True)
                                   | Q(min_price__lte=F("max_price")), name="pricing_rule_min_lte_max"),
            models.CheckConstraint(condition=Q(min_price__isnull=False) | Q(max_discount_percent__isnull=False),
                                   name="pricing_rule_has_lower_bound"),
            models.CheckConstraint(condition=Q(max_price__isnull=False) | Q(max_markup_percent__isnull=False),
                                   name="pricing_rule_has_upper_bound"),
            models.CheckConstraint(condition=_percent_between_0_and_100("max_discount_percent"),
                                   name="pricing_rule_discount_percent_0_100"),
            models.CheckConstraint(condition=_percent_between_0_and_100("max_markup_percent"),
                                   name="pricing_rule_markup_percent_0_100"),
            models.CheckConstraint(condition=Q(max_change_percent__gte=0, max_change_percent__lte=100),
                                   name="pricing_rule_change_percent_0_100"),
            models.CheckConstraint(condition=Q(auto_approve_percent__gte=0, auto_approve_percent__lte=100),
                                   name="pricing_rule_auto_approve_percent_0_100"),
            models.CheckConstraint(condition=Q(interval_hours__gte=1), name="pricing_rule_interval_positive"),
            models.CheckConstraint(condition=Q(min_hours_between_changes__isnull=True)
                                   | Q(min_hours_between_changes__gte=1), name="pricing_rule_min_hours_positive"),
        ]

    def __str__(self):
        return self.name

    @property
    def scope(self) -> str:
        if self.product_id:
            return f"Product: {self.product}"
        if self.category_id:
            return f"Category: {self.category}"
        return "Global default"

    def clean(self):
        errors = {}
        if self.product_id and self.category_id:
            errors["category"] = "A rule applies to one product or one category, not both."
        if self.min_price is not None and self.max_price is not None and self.min_price > self.max_price:
            errors["max_price"] = "The maximum price must not be below the minimum price."
        if self.min_price is None and self.max_discount_percent is None:
            errors["min_price"] = "Set a lower bound: a minimum price or a maximum discount."
        if self.max_price is None and self.max_markup_percent is None:
            errors["max_price"] = "Set an upper bound: a maximum price or a maximum markup."
        if errors:
            raise ValidationError(errors)

    def bounds_for(self, base_price: Decimal) -> tuple[Decimal, Decimal]:
        """The lowest and highest price this rule allows for a product with ``base_price``, in whole cents."""
        lows = [self.min_price] if self.min_price is not None else []
        highs = [self.max_price] if self.max_price is not None else []
        if self.max_discount_percent is not None:
            lows.append(ceil_cents(base_price * (1 - self.max_discount_percent / 100)))
        if self.max_markup_percent is not None:
            highs.append(floor_cents(base_price * (1 + self.max_markup_percent / 100)))
        return max(lows), min(highs)


class BoundBy(models.TextChoices):
    """Which guardrail moved a proposal to the price decided (for audit)."""

    NONE = "none", "None (the proposal as asked)"
    FLOOR = "floor", "The rule's lower bound (minimum price or maximum discount)"
    CEILING = "ceiling", "The rule's upper bound (maximum price or maximum markup)"
    WINDOW_MOVE = "window_move", "The maximum change per interval"
    CHANGE_FREQUENCY = "change_frequency", "The minimum time between changes"


class PriceChange(models.Model):
    """A price the engine decided on: applied at once (within the auto-approve band) or waiting for an editor."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for approval"
        APPLIED = "applied", "Applied"
        REJECTED = "rejected", "Rejected"
        SUPERSEDED = "superseded", "Superseded by a newer proposal"
        EXPIRED = "expired", "Expired (the price or the guardrails moved)"
        CANCELLED = "cancelled", "Cancelled (dynamic pricing stopped)"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    rule = models.ForeignKey(PricingRule, null=True, on_delete=models.SET_NULL, related_name="+")
    signal_at = models.DateTimeField(help_text="The demand signals it was decided from (one decision per product "
                                               "per signal run, so a repeated run changes nothing).")
    strategy = models.CharField(max_length=8, choices=Strategy.choices)
    previous_price = models.DecimalField(**MONEY)
    proposed_price = models.DecimalField(help_text="What the strategy asked for, before the guardrails.", **MONEY)
    new_price = models.DecimalField(help_text="The proposal clipped by the guardrails.", **MONEY)
    bound_by = models.CharField(max_length=16, choices=BoundBy.choices, default=BoundBy.NONE,
                                help_text="The guardrail that moved the proposal to the new price, if any.")
    reason = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [("approve_pricechange", "Can approve or reject proposed price changes")]
        indexes = [models.Index(fields=["status", "-created_at"], name="price_change_status_time")]
        constraints = [
            models.UniqueConstraint(fields=["product", "signal_at"], name="price_change_once_per_signal"),
            models.UniqueConstraint(fields=["product"], condition=Q(status="pending"),
                                    name="price_change_one_pending_per_product"),
            models.CheckConstraint(condition=Q(new_price__gte=0) & Q(previous_price__gte=0)
                                   & Q(proposed_price__gte=0), name="price_change_prices_gte_0"),
        ]

    def __str__(self):
        return f"{self.product}: {self.previous_price} → {self.new_price}"

    @property
    def change_percent(self) -> Decimal | None:
        if not self.previous_price:
            return None
        return ((self.new_price - self.previous_price) / self.previous_price * 100).quantize(Decimal("0.1"))


class PriceHistory(models.Model):
    """Every price a product was sold at, with why and who: the ledger guardrail windows are computed from."""

    class Source(models.TextChoices):
        AUTOMATIC = "automatic", "Applied automatically (within the auto-approve band)"
        APPROVED = "approved", "Approved by an editor"
        RULE_BOUNDS = "rule_bounds", "Moved into its pricing rule's bounds"
        KILL_SWITCH = "kill_switch", "Back to base price (dynamic pricing stopped)"
        MANUAL = "manual", "Set by an editor on the product"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    previous_price = models.DecimalField(**MONEY)
    price = models.DecimalField(**MONEY)
    changed_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=12, choices=Source.choices)
    reason = models.TextField(blank=True)
    change = models.ForeignKey(PriceChange, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["-changed_at", "-pk"]
        verbose_name_plural = "price history"
        indexes = [
            models.Index(fields=["product", "-changed_at"], name="price_history_product_time"),
            models.Index(fields=["changed_at"], name="price_history_time"),
        ]
        constraints = [models.CheckConstraint(condition=Q(price__gte=0) & Q(previous_price__gte=0),
                                              name="price_history_prices_gte_0")]

    def __str__(self):
        return f"{self.product}: {self.previous_price} → {self.price} at {self.changed_at:%Y-%m-%d %H:%M}"


class KillSwitch(models.Model):
    """One row: while engaged, every product sells at its base price and the engine changes nothing."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    engaged = models.BooleanField(default=False)
    changed_at = models.DateTimeField(null=True, blank=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        verbose_name = "dynamic pricing kill switch"
        constraints = [models.CheckConstraint(condition=Q(id=1), name="kill_switch_single_row")]

    def __str__(self):
        return "dynamic pricing stopped" if self.engaged else "dynamic pricing running"


class DemandModel(models.Model):
    """A trained gradient-boosting demand model (pickled scikit-learn estimator); the newest one is used."""

    trained_at = models.DateTimeField(default=timezone.now, db_index=True)
    training_rows = models.PositiveIntegerField()
    price_ratio_low = models.FloatField(help_text="Lowest price ÷ base price the model saw often enough to trust.")
    price_ratio_high = models.FloatField(help_text="Highest price ÷ base price the model saw often enough to trust.")
    metrics = models.JSONField(default=dict)
    estimator = models.BinaryField()

    class Meta:
        ordering = ["-trained_at"]

    def __str__(self):
        return f"demand model of {self.trained_at:%Y-%m-%d %H:%M} ({self.training_rows} rows)"
