"""What search reads: one embedding and one keyword document per product, the BM25 postings and
term statistics derived from them, and the log of every query shoppers ran."""

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from pgvector.django import HnswIndex, VectorField

from commerce.catalogue.models import Product
from commerce.customers.models import Customer

EMBEDDING_DIMENSIONS = 384


class ProductEmbedding(models.Model):
    product = models.OneToOneField(Product, primary_key=True, on_delete=models.CASCADE, related_name="+")
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS)
    text_hash = models.CharField(max_length=64,
                                 help_text="sha256 of the embedded text: unchanged text is not re-embedded.")
    model_version = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # The HNSW index serves semantic search for small catalogues. From ``vector_index.IVFFLAT_MIN_PRODUCTS``
        # an IVFFlat index over ``embedding::halfvec`` serves instead; it is not declared here because its
        # k-means lists are trained on the stored vectors and sized to their number, so it is (re)built by
        # ``vector_index.refresh_vector_index`` once there is data, never by a migration on an empty table.
        indexes = [
            HnswIndex(name="product_embedding_hnsw", fields=["embedding"], m=16, ef_construction=64,
                      opclasses=["vector_cosine_ops"]),
        ]

    def __str__(self):
        return f"embedding of product {self.product_id} ({self.model_version})"


class SearchDocument(models.Model):
    """A product's weighted tsvector (title A, category B, attributes and description C) and its BM25 length."""

    product = models.OneToOneField(Product, primary_key=True, on_delete=models.CASCADE, related_name="+")
    vector = SearchVectorField()
    length = models.FloatField(help_text="Field-weighted term count, BM25's document length")

    class Meta:
        indexes = [GinIndex(fields=["vector"], name="search_document_vector_gin")]

    def __str__(self):
        return f"keyword document of product {self.product_id}"


class SearchPosting(models.Model):
    """Inverted index: how often (field-weighted) a stemmed term occurs in a product's document, and
    the posting's BM25 term weight (its "impact"), so a query reads each term's best postings first."""

    pk = models.CompositePrimaryKey("term", "product")
    term = models.CharField(max_length=100)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    frequency = models.FloatField()
    document_length = models.FloatField(help_text="The product's field-weighted term count (BM25's |d|)")
    impact = models.FloatField(default=0.0, help_text="BM25 term weight f·(k1+1)/(f + k1·(1−b+b·|d|/avgdl)); "
                                                      "score = Σ idf × impact")

    class Meta:
        indexes = [
            models.Index(fields=["product"], name="search_posting_product"),
            # Impact-ordered: a term's strongest postings first, read by an index-only scan.
            models.Index(fields=["term", "-impact"], include=["product"], name="search_posting_impact"),
        ]

    def __str__(self):
        return f"{self.term} in product {self.product_id}"


class SearchStatistics(models.Model):
    """The corpus figures BM25 needs (one row), rebuilt with the term statistics, and the state of the
    IVFFlat index semantic search reads at catalogue scale (built by ``vector_index.refresh_vector_index``)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    documents = models.PositiveIntegerField(default=0)
    average_length = models.FloatField(default=0.0)
    impact_average_length = models.FloatField(
        default=0.0, help_text="The average length the stored impacts were computed with; they are recomputed "
                               "when the corpus drifts from it")
    refreshed_at = models.DateTimeField(null=True)
    vector_index_lists = models.PositiveIntegerField(
        default=0, help_text="Lists of the IVFFlat index semantic search reads (0: none, the HNSW index serves)")
    vector_index_rows = models.PositiveIntegerField(default=0, help_text="Embeddings when the IVFFlat index was built")
    vector_index_built_at = models.DateTimeField(null=True)

    class Meta:
        verbose_name_plural = "search statistics"
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="search_statistics_single_row")]

    def __str__(self):
        return f"{self.documents} documents, average length {self.average_length:.1f}"


class SearchTerm(models.Model):
    """Document frequency of every indexed term (BM25's idf) and the vocabulary typo correction searches.

    Rebuilt from the postings by a beat task; a term added since counts as rare until then."""

    term = models.CharField(max_length=100, primary_key=True)
    document_count = models.IntegerField()

    class Meta:
        indexes = [GinIndex(OpClass("term", name="gin_trgm_ops"), name="search_term_trigram")]

    def __str__(self):
        return f"{self.term} ({self.document_count} products)"


class SearchQuery(models.Model):
    """One search a shopper ran: for top-query, zero-result and click-through reports."""

    query = models.CharField(max_length=512)
    normalized = models.CharField(max_length=512, db_index=True)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    visitor_id = models.UUIDField(null=True, blank=True)
    method = models.CharField(max_length=16, default="hybrid")
    result_count = models.PositiveIntegerField()
    clicked_product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    converted = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name_plural = "search queries"
        ordering = ["-created_at"]

    def __str__(self):
        return self.query
