"""What recommendations serve from: trained models, their factors, and the precomputed lists.

Training writes a new ``RecommendationModel`` with its factors and lists, then makes it current; serving
reads only the current model's rows (or Redis copies of them), never the factors of a whole catalogue.
"""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from pgvector.django import VectorField

from commerce.catalogue.models import Product
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
        FACTORS = "factors", "ALS item factors"
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
