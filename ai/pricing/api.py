"""``GET /api/v1/prices/{product_id}``: a product's current and base price and its last change."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from ai.pricing.models import PriceHistory
from ai.pricing.serving import price_report
from commerce.customers.experiments import price_list_for
from core.schema import BAD_REQUEST, ErrorSerializer, MoneyField, PriceDisclosureField


class LastChangeSerializer(serializers.Serializer):
    previous_price = MoneyField()
    price = MoneyField()
    changed_at = serializers.DateTimeField()
    source = serializers.ChoiceField(choices=PriceHistory.Source.choices)
    reason = serializers.CharField()


class PriceSerializer(serializers.Serializer):
    product_id = serializers.IntegerField()
    currency = serializers.CharField()
    price = MoneyField(
        help_text="What this shopper pays now (the base price in a pricing experiment's base-price variant).")
    base_price = MoneyField(help_text="The list price an editor set, before dynamic pricing. Never a reduction's "
                                      "reference: show `reduced_from` instead.")
    reduced_from = MoneyField(
        allow_null=True, help_text="When `price` is a reduction: the lowest price of the 30 days (the market's "
                                   "setting) before it was set, the only prior price a reduction may be shown "
                                   "against (EU Omnibus directive). Null: show no reduction.")
    reduction_percent = serializers.IntegerField(
        allow_null=True, min_value=0, max_value=100,
        help_text="Whole percent `price` is below `reduced_from`; null when `reduced_from` is.")
    price_disclosure = PriceDisclosureField()
    last_change = LastChangeSerializer(allow_null=True, help_text="Null when the price never changed.")


class PriceView(APIView):
    @extend_schema(
        summary="A product's price",
        description=(
            "What this shopper pays for the product now, its base price, and the last change dynamic pricing "
            "or an editor made to it (`null` if none). Amounts are decimal strings in `currency`."
        ),
        responses={
            200: PriceSerializer,
            400: BAD_REQUEST,  # a NUL character in the URL (vitrine.middleware.RejectNulInUrlMiddleware)
            404: OpenApiResponse(ErrorSerializer, description="No product with this id is for sale."),
        },
    )
    def get(self, request, product_id: int):
        report = price_report(product_id, price_list_for(request._request))
        if report is None:
            raise NotFound("No product with this id is for sale.")
        return Response(PriceSerializer(report).data)
