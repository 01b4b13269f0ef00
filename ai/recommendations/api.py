"""``GET /api/v1/recommendations``: what a surface would show this shopper, as JSON."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from ai.recommendations.rows import PRODUCT_SURFACES, SURFACES
from ai.recommendations.serving import recommend
from commerce.catalogue.models import PriceList, Product
from commerce.catalogue.services import price_disclosure, unit_price
from commerce.orders.services import find_cart, shopper_for
from core.schema import BAD_REQUEST, ErrorSerializer, MoneyField, PriceDisclosureField


class RecommendationParamsSerializer(serializers.Serializer):
    surface = serializers.ChoiceField(choices=SURFACES, help_text="Where the list is shown.", error_messages={
        "invalid_choice": "surface must be one of: " + ", ".join(SURFACES) + ".",
        "required": "surface is required (" + ", ".join(SURFACES) + ")."})
    product = serializers.IntegerField(required=False, min_value=1,
                                       help_text="The product whose page shows the list; required for "
                                                 + ", ".join(f"`{surface}`" for surface in PRODUCT_SURFACES) + ".")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=50, default=12,
                                     help_text="How many products at most.")

    def validate(self, data):
        if data["surface"] in PRODUCT_SURFACES and "product" not in data:
            raise serializers.ValidationError({"product": f"The {data['surface']} surface needs a product id."})
        return data


class ShopperPriceField(MoneyField):
    """The product's price on the shopper's price list (``price_list`` in the serializer context)."""

    def get_attribute(self, instance):
        return unit_price(instance.product, None, self.context.get("price_list", PriceList.CURRENT))


class RecommendationSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="product.pk")
    title = serializers.CharField(source="product.title")
    url = serializers.CharField(source="product.get_absolute_url")
    price = ShopperPriceField(help_text="What this shopper pays for one unit, in `currency`.")
    currency = serializers.CharField(source="product.currency")
    score = serializers.FloatField()
    reason = serializers.CharField()
    strategy = serializers.CharField()


class RecommendationResponseSerializer(serializers.Serializer):
    surface = serializers.CharField()
    results = RecommendationSerializer(many=True)
    price_disclosure = PriceDisclosureField()


class RecommendationView(APIView):
    @extend_schema(
        summary="Recommend products for a surface",
        description=(
            "What a surface would show this shopper (known by session or visitor cookie): `home` their "
            "personal list, `product` products similar to `product`, `cart` products bought with what is in "
            "their cart (then their categories' complements). The carousel strategies are surfaces too: "
            "`similar` and `bought_together` (of `product`), `trending` (rising against their own usual "
            "interest), `buy_again` (the shopper's repeat purchases that are due) and `because_viewed` "
            "(similar to the shopper's last viewed product). Each falls back to popular products; "
            "`strategy` says which level served a product and `reason` is the sentence to show. Lists are "
            "precomputed by the workers."
        ),
        parameters=[RecommendationParamsSerializer],
        responses={
            200: RecommendationResponseSerializer,
            400: BAD_REQUEST,
            404: OpenApiResponse(ErrorSerializer, description="`product` is not a product for sale."),
        },
    )
    def get(self, request):
        params = RecommendationParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        product_id = data.get("product")
        if product_id is not None and not Product.objects.active().filter(pk=product_id).exists():
            raise NotFound(f"No product {product_id}.")
        shopper = shopper_for(request._request)
        cart = find_cart(shopper) if data["surface"] == "cart" else None
        in_cart = list(cart.lines.values_list("product_id", flat=True)) if cart else []
        results = recommend(data["surface"], customer_id=shopper.customer.pk if shopper.customer else None,
                            visitor_id=shopper.visitor_id, product_id=product_id, cart_product_ids=in_cart,
                            limit=data["limit"])
        return Response({"surface": data["surface"], "results": RecommendationSerializer(
            results, many=True, context={"price_list": shopper.price_list}).data,
            "price_disclosure": price_disclosure(shopper.price_list) or None})
