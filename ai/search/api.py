"""``GET /api/v1/search``: the same hybrid search the search page serves, with its facets, as JSON."""

from dataclasses import replace

from django.http import QueryDict
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ai.search.rules import redirect_for
from ai.search.serving import MAX_QUERY_LENGTH, Filters
from ai.search.storefront import faceted_search
from commerce.catalogue.facets import ATTRIBUTES, BANDS, CATEGORY, IN_STOCK, PRICE, Buckets
from commerce.catalogue.models import Category, Product
from commerce.catalogue.services import price_disclosure, unit_price
from commerce.customers.experiments import price_list_for
from core.schema import BAD_REQUEST, MoneyField, PriceDisclosureField, RequestTextSchema


class FacetValuesField(serializers.ListField):
    """A facet parameter's values (``?colour=navy&colour=oak``); empty ones are ignored, as the page does."""

    def __init__(self, help_text: str, child: serializers.Field | None = None):
        super().__init__(child=child or serializers.CharField(max_length=200, allow_blank=True), required=False,
                         default=list, help_text=help_text)

    def to_internal_value(self, data):
        return super().to_internal_value([value for value in data if value != ""])


# Published as one string: a query string cannot tell a value that "is not a list" from a list of one, so an
# array schema of free text would call every single value invalid. Repeating the parameter still ORs values.
@extend_schema_field({"type": "string", "maxLength": 200, "pattern": RequestTextSchema.ANY_TEXT})
class AttributeValuesField(FacetValuesField):
    """An attribute facet's values: any text (the catalogue's own words); repeat the parameter for more."""

    def __init__(self):
        super().__init__("An attribute value: results with it (repeat the parameter for several: results with "
                         "any of them).")


class SearchParamsSerializer(serializers.Serializer):
    q = serializers.CharField(max_length=MAX_QUERY_LENGTH, trim_whitespace=True, help_text="What to search for.",
                              error_messages={"max_length": f"Queries are limited to {MAX_QUERY_LENGTH} characters.",
                                              "blank": "Type something to search for."})
    category = serializers.IntegerField(required=False, min_value=1,
                                        help_text="Only products of this category and its subcategories.")
    min_price = MoneyField(required=False, help_text="Only products at this price or more.")
    max_price = MoneyField(required=False, help_text="Only products at this price or less.")
    in_stock = serializers.BooleanField(required=False, default=False, help_text="Only products in stock.")
    exact = serializers.BooleanField(required=False, default=False,
                                     help_text="Search the query as typed: no typo correction.")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=50, default=24,
                                     help_text="How many results at most.")
    # The search page's facet parameters: values of one facet are ORed, facets ANDed (repeat a parameter
    # for several values: ``?colour=navy&colour=oak``).
    cat = FacetValuesField("Departments (their slugs, as `facets` lists them): results in any of them.",
                           serializers.SlugField(max_length=200, allow_blank=True))
    price = FacetValuesField("Price bands (as `facets` lists them, e.g. `10-25`, `250-`): results priced in any "
                             "of them.", serializers.ChoiceField(choices=list(BANDS), allow_blank=True))
    colour = AttributeValuesField()
    material = AttributeValuesField()
    pattern = AttributeValuesField()
    finish = AttributeValuesField()

    def validate_category(self, value):
        if not Category.objects.filter(pk=value).exists():
            raise serializers.ValidationError(f"Unknown category {value}.")
        return value

    def validate_cat(self, value):
        if not value:  # most searches choose no department: the category tree need not be read
            return value
        unknown = sorted(set(value) - set(Buckets.below(None).slugs))
        if unknown:
            raise serializers.ValidationError(f"Unknown department {', '.join(unknown)}.")
        return value

    def validate(self, data):
        if data.get("min_price") is not None and data.get("max_price") is not None \
                and data["min_price"] > data["max_price"]:
            raise serializers.ValidationError("min_price must not exceed max_price.")
        return data

    def filters(self) -> Filters:
        data = self.validated_data
        return Filters(
            category_id=data.get("category"),
            min_price=float(data["min_price"]) if data.get("min_price") is not None else None,
            max_price=float(data["max_price"]) if data.get("max_price") is not None else None,
            in_stock=data["in_stock"],
        )

    def facet_selection(self) -> QueryDict:
        """The facet values chosen, as the search page's URL parameters."""
        data = self.validated_data
        selection = QueryDict(mutable=True)
        for name in (CATEGORY, PRICE, *(key for key, _ in ATTRIBUTES)):
            selection.setlist(name, data[name])
        if data["in_stock"]:
            selection[IN_STOCK] = "1"
        return selection


class SearchResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    url = serializers.CharField()
    price = MoneyField(help_text="What this shopper pays for one unit, in `currency`.")
    currency = serializers.CharField()
    in_stock = serializers.BooleanField()
    score = serializers.FloatField()


class FacetValueSerializer(serializers.Serializer):
    value = serializers.CharField(help_text="What the facet's parameter takes to choose it.")
    label = serializers.CharField()
    count = serializers.IntegerField(help_text=(
        "How many results there would be with this value chosen too (under the other facets' choices)."))
    selected = serializers.BooleanField(help_text="Applied to `results` (`in_stock`: the availability facet).")


class FacetSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The query parameter that chooses its values.")
    label = serializers.CharField()
    values = FacetValueSerializer(many=True)


class FacetsSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Results under the chosen facet values (before `limit`).")
    facets = FacetSerializer(many=True, help_text="Only facets with values to choose.")


class SearchResponseSerializer(serializers.Serializer):
    query = serializers.CharField(help_text="The query as typed, trimmed and lower-cased.")
    corrected_query = serializers.CharField(allow_null=True, help_text=(
        "The query as searched when misspelt words were corrected (null otherwise): show it, with a link "
        "that searches `query` again with `exact`."))
    method = serializers.ChoiceField(choices=["hybrid", "keyword"], help_text=(
        "`hybrid`: keyword and semantic results fused; `keyword`: keyword results only."))
    corrected_terms = serializers.DictField(child=serializers.CharField(),
                                            help_text="Each misspelt word of the query → the word searched instead.")
    query_id = serializers.IntegerField(allow_null=True, help_text="The logged search (its clicks are tracked).")
    redirect = serializers.CharField(allow_null=True, help_text=(
        "Where the shop sends a shopper who searches for this (a merchandiser's rule: a page's path or a "
        "URL), null otherwise: go there rather than show `results`."))
    results = SearchResultSerializer(many=True)
    price_disclosure = PriceDisclosureField()
    facets = FacetsSerializer(help_text=(
        "The search page's facets: department, price band, availability and attributes, counted over the "
        "candidates the search found."))


def result_rows(results, price_list: str) -> list[dict]:
    products = Product.objects.only("title", "slug", "price", "base_price", "currency", "stock").in_bulk(
        results.product_ids)
    return [
        {"id": pid, "title": products[pid].title, "url": products[pid].get_absolute_url(),
         "price": unit_price(products[pid], None, price_list), "currency": products[pid].currency,
         "in_stock": products[pid].stock > 0, "score": score}
        for pid, score in zip(results.product_ids, results.scores, strict=True) if pid in products
    ]


class SearchView(APIView):
    @extend_schema(
        summary="Search the catalogue",
        description=(
            "The search page's hybrid search as JSON: the best matching active products for `q`, optionally "
            "filtered by category, price range (in the shop's currency) and stock; in-stock products rank "
            "before sold-out ones. Misspelt words may be corrected (`corrected_query`, `corrected_terms`) "
            "unless `exact` is set. A query nothing in the catalogue matches gets no results (an empty "
            "list). The search is logged and `query_id` identifies it. An unknown category, or "
            "`min_price` above `max_price`, is a 400. Merchandisers' query rules may pin, hide, bury or boost "
            "results, or name a page to go to instead (`redirect`). `facets` counts, as the search page does for "
            "the same query and filters, the results each facet value (department, price band, availability, "
            "attribute) would show; `in_stock` is its availability facet. Choose facet values with the "
            "parameters the facets name (`cat`, `price`, `colour`, …; repeat one for several values): values "
            "of one facet are ORed, facets ANDed, and each facet's counts are taken under the others' "
            "choices. An unknown department or price band is a 400."
        ),
        parameters=[SearchParamsSerializer],
        responses={200: SearchResponseSerializer, 400: BAD_REQUEST},
    )
    def get(self, request):
        params = SearchParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        found = faceted_search(request._request, params.validated_data["q"], params.facet_selection(),
                               filters=params.filters(),
                               exact=params.validated_data["exact"])
        results = found.results
        scores = dict(zip(results.product_ids, results.scores, strict=True))
        kept = found.product_ids[:params.validated_data["limit"]]
        price_list = price_list_for(request._request)
        return Response(SearchResponseSerializer({
            "query": results.query, "corrected_query": results.corrected_query, "method": results.method,
            "corrected_terms": results.corrected_terms,
            "query_id": results.query_log_id, "redirect": redirect_for(results.query),
            "results": result_rows(replace(results, product_ids=kept, scores=[scores[pid] for pid in kept]),
                                   price_list),
            "price_disclosure": price_disclosure(price_list) or None,
            "facets": found.facets,
        }).data)
