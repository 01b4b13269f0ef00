"""What search reads: one embedding and one keyword document per product, the BM25 postings and
term statistics derived from them, the log of every query shoppers ran, and the synonyms and query rules
merchandisers manage."""

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import connection, models
from modelcluster.fields import ParentalManyToManyField
from modelcluster.models import ClusterableModel
from pgvector.django import HnswIndex, VectorField
from wagtail.models import PreviewableMixin

from commerce.catalogue.models import Category, Product
from commerce.customers.models import Customer

EMBEDDING_DIMENSIONS = 384


class ProductEmbedding(models.Model):
    product = models.OneToOneField(Product, primary_key=True, on_delete=models.CASCADE, related_name="+")
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS)
    text_hash = models.CharField(max_length=64,
                                 help_text="sha256 of the embedded text: unchanged text is not re-embedded.")
    model_version = models.CharField(max_length=64)
    department_id = models.BigIntegerField(
        null=True, help_text="The product's top-level category, denormalised: each large department has its own "
                             "partial IVFFlat index on it (``vector_index``), which a department filter reads")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # The HNSW index serves semantic search for small catalogues. From ``vector_index.IVFFLAT_MIN_PRODUCTS``
        # an IVFFlat index over ``embedding::halfvec`` serves instead; it is not declared here because its
        # k-means lists are trained on the stored vectors and sized to their number, so it is (re)built by
        # ``vector_index.refresh_vector_index`` once there is data, never by a migration on an empty table;
        # so are the partial IVFFlat indexes of large departments (on ``department_id``).
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
    department_indexes = models.JSONField(
        default=dict, help_text="The departments with their own partial IVFFlat index: {department id: "
                                "{lists, rows, built_at, build_s}}")

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

    REDIRECTED = "redirect"  # the method of a search a query rule answered with a page: no results, none missing

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
        # A visitor's searches in order: the report's synonym suggestions join each search to the same
        # visitor's next few minutes (``reports.synonym_suggestions``).
        indexes = [models.Index(fields=["visitor_id", "created_at"], name="search_query_visitor_time")]

    def __str__(self):
        return self.query


def split_terms(text: str) -> list[str]:
    """Comma-separated synonym terms, lower-case with spaces collapsed; an empty term stays (as "") for
    ``Synonym.clean`` to refuse."""
    return [" ".join(term.split()).lower() for term in text.split(",")]


def unsearchable(terms: list[str]) -> list[str]:
    """The terms the index's stemmer drops whole (stopwords such as "the"): no query could match them."""
    if not terms:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT t FROM unnest(%s::text[]) WITH ORDINALITY AS u(t, n) "
                       "WHERE length(to_tsvector('english', t)) = 0 ORDER BY n", [terms])
        return [row[0] for row in cursor.fetchall()]


class Synonym(models.Model):
    """A merchandiser's synonym rule, applied to keyword search at query time (``synonyms``): a two-way group
    (sofa, couch, settee: a search for any member searches them all) or a one-way rule (tee → t-shirt: a
    search for "tee" searches "t-shirt" too, never the other way round)."""

    class Kind(models.TextChoices):
        TWO_WAY = "two_way", "Two-way group"
        ONE_WAY = "one_way", "One-way"

    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.TWO_WAY)
    terms = models.CharField(max_length=500, help_text=(
        "Comma-separated words or phrases. Two-way: words that mean the same (sofa, couch, settee). One-way: "
        "what shoppers type (tee)."))
    targets = models.CharField(max_length=500, blank=True, help_text=(
        "One-way only: what a search for the terms also looks for (t-shirt), comma-separated."))
    enabled = models.BooleanField(default=True, help_text="Only enabled synonyms change searches.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["terms"]

    def __str__(self):
        return f"{self.terms} → {self.targets}" if self.kind == self.Kind.ONE_WAY else self.terms

    def clean(self):
        """Store the terms normalised (as searches see them) and refuse rules that could not match or mean
        nothing: an empty term or one of stopwords, a group of one, a one-way rule without a target or onto
        itself."""
        errors = {}
        terms = split_terms(self.terms) if self.terms else []
        targets = split_terms(self.targets) if self.targets.strip() else []
        for field, values in (("terms", terms), ("targets", targets)):
            if "" in values:
                errors[field] = "Remove the empty term (two commas in a row, or a comma at either end)."
        terms, targets = list(dict.fromkeys(terms)), list(dict.fromkeys(targets))
        for field, values in (("terms", terms), ("targets", targets)):
            if field not in errors and (ignored := unsearchable(values)):
                errors[field] = f"Search ignores these words (too common to index): {', '.join(ignored)}."
        if self.kind == self.Kind.TWO_WAY:
            if terms and len(terms) < 2:
                errors.setdefault("terms", "A two-way group needs at least two different terms.")
            if targets:
                errors.setdefault("targets", "Only one-way rules have targets: put every word of a group in Terms.")
        else:
            if not targets:
                errors.setdefault("targets", "A one-way rule needs at least one target.")
            if both := [term for term in terms if term in targets]:
                errors.setdefault("targets", f"A one-way rule's term cannot also be its target: {', '.join(both)}.")
        if errors:
            raise ValidationError(errors)
        self.terms, self.targets = ", ".join(terms), ", ".join(targets)


class QueryRule(PreviewableMixin, ClusterableModel):
    """A merchandiser's rule for the searches whose normalised query equals or contains ``query``: pin a
    product at a position, hide or bury products, boost a category or an attribute value, or send the
    shopper to a page. Applied after ranking (``rules``), within its validity window while enabled. A
    cluster so the admin's preview can rank with the rule's unsaved products."""

    class Match(models.TextChoices):
        EXACT = "exact", "Query is exactly"
        CONTAINS = "contains", "Query contains"

    class Action(models.TextChoices):
        PIN = "pin", "Pin a product at a position"
        HIDE = "hide", "Hide products"
        BURY = "bury", "Bury products (move to the end)"
        BOOST = "boost", "Boost a category or an attribute value"
        REDIRECT = "redirect", "Redirect to a page"

    name = models.CharField(max_length=100, help_text="What the rule is for, as the list shows it.")
    match = models.CharField(max_length=8, choices=Match.choices, default=Match.EXACT)
    query = models.CharField(max_length=200, help_text="Compared with the shopper's query trimmed and lower-cased.")
    action = models.CharField(max_length=8, choices=Action.choices, default=Action.PIN)
    products = ParentalManyToManyField(Product, blank=True, related_name="+",
                                       help_text="Pin: the one product. Hide, bury: the products.")
    position = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MinValueValidator(1)],
                                                help_text="Pin: the result position, from 1.")
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                                 help_text="Boost: products of this category and its subcategories.")
    attribute_name = models.CharField(max_length=50, blank=True, help_text="Boost: an attribute, e.g. colour.")
    attribute_value = models.CharField(max_length=100, blank=True, help_text="Boost: its value, e.g. red.")
    boost_percent = models.PositiveSmallIntegerField(
        default=100, validators=[MinValueValidator(1)],
        help_text="Boost: how much higher the products score, in percent (100 doubles a score).")
    redirect_page = models.ForeignKey("wagtailcore.Page", null=True, blank=True, on_delete=models.CASCADE,
                                      related_name="+", help_text="Redirect: a page of the site, …")
    redirect_url = models.CharField(max_length=500, blank=True,
                                    help_text="… or an address: a path (/sale/) or https://….")
    enabled = models.BooleanField(default=True, help_text="Only enabled rules change searches.")
    starts_at = models.DateTimeField(null=True, blank=True, help_text="Empty: from now.")
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Empty: until disabled.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["query", "name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(starts_at__isnull=True) | models.Q(ends_at__isnull=True)
                                   | models.Q(ends_at__gt=models.F("starts_at")), name="query_rule_window_order"),
            models.CheckConstraint(condition=~models.Q(action="pin") | models.Q(position__gte=1),
                                   name="query_rule_pin_position"),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        """Store the query as searches see it, and refuse a rule its action cannot use (the admin's form puts
        the edited products on the instance first: ``forms.QueryRuleForm``)."""
        errors = {}
        products = len(self.products.all())
        self.query = " ".join(self.query.split()).lower()
        self.attribute_name, self.attribute_value = self.attribute_name.strip(), self.attribute_value.strip()
        self.redirect_url = self.redirect_url.strip()
        if not self.query:
            errors["query"] = "Type the query the rule is for."
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = "The rule must end after it starts."
        if self.action == self.Action.PIN:
            if products != 1:
                errors["products"] = "Pin exactly one product (another rule can pin the next)."
            if not self.position:
                errors["position"] = "Say at which position to pin the product."
        if self.action in (self.Action.HIDE, self.Action.BURY) and not products:
            errors["products"] = "Choose the products."
        if self.action == self.Action.BOOST:
            attribute = bool(self.attribute_name) + bool(self.attribute_value)
            if attribute == 1:
                errors["attribute_value"] = "Give both the attribute and its value."
            elif bool(self.category_id) == bool(attribute):
                errors["category"] = "Boost either a category or an attribute value, not both or neither."
        if self.action == self.Action.REDIRECT:
            if bool(self.redirect_page_id) == bool(self.redirect_url):
                errors["redirect_page"] = "Redirect to either a page or an address, not both or neither."
            elif self.redirect_url and not self.redirect_url.startswith(("/", "https://", "http://")):
                errors["redirect_url"] = "An address starts with / (this site) or https://."
        if errors:
            raise ValidationError(errors)

    # The admin's preview: the rule's query ranked without and with the rule (``rules.preview``).
    def get_preview_template(self, request, mode_name):
        return "search/admin/query_rule_preview.html"

    def get_preview_context(self, request, mode_name):
        from ai.search.rule_preview import preview  # it imports this module

        return {**super().get_preview_context(request, mode_name), **preview(self)}
