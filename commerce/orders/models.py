"""Carts, orders with the prices actually charged, and returns."""

import secrets
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from django_countries.fields import CountryField

from commerce.catalogue.models import MONEY, PriceList, Product, ProductVariant
from commerce.customers.models import Customer, shop_country


class Cart(models.Model):
    """One open cart per customer, or per anonymous visitor until they log in."""

    customer = models.OneToOneField(Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="cart")
    visitor_id = models.UUIDField(null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(customer__isnull=False) | models.Q(visitor_id__isnull=False),
                name="cart_has_owner",
            )
        ]

    def __str__(self):
        return f"Cart {self.pk} ({self.customer or self.visitor_id})"


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    variant = models.ForeignKey(ProductVariant, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    # What the shopper last saw (on the product page when adding, or when accepting a change in the
    # cart). Checkout charges it, and only while it is still the current price.
    seen_unit_price = models.DecimalField(**MONEY)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "product", "variant"], nulls_distinct=False,
                                    name="one_line_per_product_variant"),
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="cart_line_quantity_gte_1"),
        ]

    def __str__(self):
        return f"{self.quantity} × {self.variant or self.product}"


class Order(models.Model):
    class Status(models.TextChoices):
        PLACED = "placed", "Placed"
        SHIPPED = "shipped", "Shipped"
        DELIVERED = "delivered", "Delivered"
        CANCELLED = "cancelled", "Cancelled"

    number = models.CharField(max_length=12, unique=True, editable=False)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders")
    visitor_id = models.UUIDField(null=True, blank=True, db_index=True)
    email = models.EmailField()
    full_name = models.CharField(max_length=120)
    line1 = models.CharField("address line 1", max_length=200)
    line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100)
    postcode = models.CharField(max_length=20)
    country = CountryField(default=shop_country)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PLACED, db_index=True)
    currency = models.CharField(max_length=3)
    total = models.DecimalField(**MONEY)
    experiments = models.JSONField(default=dict, blank=True, editable=False,
                                   help_text="{experiment key: variant} the shopper was counted in at checkout.")
    # The list the shopper was charged from: any but the current price was set for them, so the order's
    # prices carry the personalised-price disclosure wherever they are shown again. The database default
    # keeps set-based inserts (benchmarks, imports) that predate the column working.
    price_list = models.CharField(max_length=16, choices=PriceList.choices, default=PriceList.CURRENT,
                                  db_default=PriceList.CURRENT, editable=False)
    # The checkout form's one-time key: a repeated submission (a double click, a retry) finds this order
    # instead of placing another.
    checkout_key = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=models.Q(total__gte=0), name="order_total_gte_0")]

    def __str__(self):
        return f"Order {self.number}"

    def save(self, *args, **kwargs):
        if not self.number:
            self.number = secrets.token_hex(4).upper()  # 8 hex chars; unique constraint catches a clash
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("account:order", kwargs={"number": self.number})


class LineItem(models.Model):
    """A product as sold: title, sku and unit price are copied so later catalogue edits never rewrite history."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, null=True, on_delete=models.SET_NULL, related_name="line_items")
    variant = models.ForeignKey(ProductVariant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    title = models.CharField(max_length=250)
    sku = models.CharField(max_length=64, blank=True)
    unit_price = models.DecimalField(**MONEY)
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["pk"]
        constraints = [models.CheckConstraint(condition=models.Q(quantity__gte=1), name="line_quantity_gte_1")]

    def __str__(self):
        return f"{self.quantity} × {self.title}"

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity

    def returnable_quantity(self) -> int:
        # Iterates the (often prefetched) returns rather than aggregating, so listing an order's lines
        # with prefetch_related("returns") costs no query per line.
        returned = sum(r.quantity for r in self.returns.all() if r.status != Return.Status.REJECTED)
        return self.quantity - returned


class Return(models.Model):
    class Reason(models.TextChoices):
        DAMAGED = "damaged", "Arrived damaged"
        NOT_AS_DESCRIBED = "not_as_described", "Not as described"
        CHANGED_MIND = "changed_mind", "Changed my mind"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        RECEIVED = "received", "Received and refunded"
        REJECTED = "rejected", "Rejected"

    line = models.ForeignKey(LineItem, on_delete=models.CASCADE, related_name="returns")
    quantity = models.PositiveIntegerField()
    reason = models.CharField(max_length=20, choices=Reason.choices)
    note = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=models.Q(quantity__gte=1), name="return_quantity_gte_1")]

    def __str__(self):
        return f"Return of {self.quantity} × {self.line.title}"

    @property
    def refund_amount(self) -> Decimal:
        return self.line.unit_price * self.quantity

    def clean(self):
        if self.line_id and self._state.adding and self.quantity > self.line.returnable_quantity():
            raise ValidationError(
                {"quantity": f"At most {self.line.returnable_quantity()} of this item can still be returned."}
            )
