"""Behavioural events: what every shopper did, the table every AI feature learns from.

``CustomerEvent`` is a PostgreSQL table range-partitioned by month on ``created_at`` (created by
migration 0001 in SQL, kept three months ahead by ``ensure_partitions``; a default partition catches
strays). Its primary key is (id, created_at): a partitioned table's unique keys must contain the
partition key, and the pair is still the idempotency key because a redelivered event carries the
created_at it was recorded with.
"""

from django.db import models

from commerce.catalogue.models import Product
from commerce.customers.models import Customer


class EventType(models.TextChoices):
    VIEW = "view", "Product view"
    ADD_TO_CART = "add_to_cart", "Add to cart"
    REMOVE_FROM_CART = "remove_from_cart", "Remove from cart"
    PURCHASE = "purchase", "Purchase"
    RETURN = "return", "Return"
    SEARCH = "search", "Search"
    RECOMMENDATION_IMPRESSION = "recommendation_impression", "Recommendation impression"
    RECOMMENDATION_CLICK = "recommendation_click", "Recommendation click"
    # A shopper shown an experiment's surface (at most once a day); ``experiments`` says which variant.
    EXPERIMENT_EXPOSURE = "experiment_exposure", "Experiment exposure"


class CustomerEvent(models.Model):
    pk = models.CompositePrimaryKey("id", "created_at")
    id = models.UUIDField(help_text="Chosen when the event is recorded; the idempotency key.")
    created_at = models.DateTimeField()
    event_type = models.CharField(max_length=32, choices=EventType.choices)
    # No database FK constraints: an event must be stored even if its product or customer was deleted
    # between recording and draining (a failing batch would block ingest), and history keeps the id.
    customer = models.ForeignKey(Customer, null=True, on_delete=models.DO_NOTHING, db_constraint=False,
                                 related_name="+")
    anonymous_id = models.UUIDField(null=True)
    session_id = models.CharField(max_length=64, blank=True, default="")
    product = models.ForeignKey(Product, null=True, on_delete=models.DO_NOTHING, db_constraint=False,
                                related_name="+")
    quantity = models.IntegerField(default=1)
    price = models.DecimalField(max_digits=10, decimal_places=2, null=True)
    surface = models.CharField(max_length=64, blank=True, default="",
                               help_text="What produced it: product_page, cart, block:<id>, api…")
    experiments = models.JSONField(default=dict, blank=True, help_text="{experiment key: variant}")
    query = models.TextField(blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["customer", "event_type", "created_at"], name="event_customer_type_time"),
            models.Index(fields=["product", "event_type", "created_at"], name="event_product_type_time"),
            models.Index(fields=["anonymous_id", "created_at"], name="event_visitor_time"),
            # Store-wide windows (views per product in the last 24 h…) read one event type in a time range.
            models.Index(fields=["event_type", "created_at"], name="event_type_time"),
        ]

    def __str__(self):
        return f"{self.event_type} {self.product_id or ''} at {self.created_at:%Y-%m-%d %H:%M}"


class VisitorLink(models.Model):
    """An anonymous visitor id known to belong to a customer (written at login).

    Ingest joins on it, so events still queued in Redis when the shopper logs in are stored with the
    customer too; events already stored are updated at login.
    """

    visitor_id = models.UUIDField(primary_key=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    linked_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"visitor {self.visitor_id} → customer {self.customer_id}"
