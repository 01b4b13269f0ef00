"""``POST /api/v1/events``: the beacon browsers use for what only they see (impressions, clicks)."""

from django.conf import settings
from django.middleware.csrf import CsrfViewMiddleware
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from commerce.catalogue.models import Product
from commerce.customers.services import customer_for
from commerce.events.models import EventType
from commerce.events.services import record

# Purchases, carts and views are recorded by the server where they happen; a browser may only
# report what it alone observes.
BEACON_EVENT_TYPES = [EventType.RECOMMENDATION_IMPRESSION, EventType.RECOMMENDATION_CLICK]
MAX_EVENTS_PER_BEACON = 50


class _CsrfCheck(CsrfViewMiddleware):
    def _reject(self, request, reason):
        return reason


class SameOriginWithCsrfToken(BasePermission):
    """Django's CSRF check for every caller, anonymous included (DRF only checks logged-in sessions)."""

    def has_permission(self, request, view):
        check = _CsrfCheck(lambda req: None)
        check.process_request(request)
        reason = check.process_view(request, None, (), {})
        if reason:
            raise PermissionDenied(f"CSRF check failed: {reason}")
        return True


class VisitorRateThrottle(SimpleRateThrottle):
    scope = "events"

    def get_rate(self):
        return settings.VITRINE_EVENT_BEACON_RATE

    def get_cache_key(self, request, view):
        visitor = getattr(request._request, "visitor_id", None) or self.get_ident(request)
        return f"throttle:events:{visitor}"


class BeaconEventSerializer(serializers.Serializer):
    event_type = serializers.ChoiceField(choices=BEACON_EVENT_TYPES)
    product = serializers.IntegerField(min_value=1)
    surface = serializers.RegexField(r"^[\w:.\-/]{1,64}$", help_text="e.g. block:3f2a, product_page, search")
    experiments = serializers.DictField(child=serializers.CharField(max_length=64), required=False)
    query = serializers.CharField(max_length=512, required=False, allow_blank=True)

    def validate_experiments(self, value):
        if len(value) > 10:
            raise serializers.ValidationError("At most 10 experiments per event.")
        return value


class BeaconSerializer(serializers.Serializer):
    events = BeaconEventSerializer(many=True, allow_empty=False, max_length=MAX_EVENTS_PER_BEACON)

    def validate_events(self, events):
        wanted = {event["product"] for event in events}
        known = set(Product.objects.filter(pk__in=wanted).values_list("pk", flat=True))
        if unknown := sorted(wanted - known):
            raise serializers.ValidationError(f"Unknown product id(s): {', '.join(map(str, unknown))}.")
        return events


class EventBeaconView(APIView):
    permission_classes = [SameOriginWithCsrfToken]
    throttle_classes = [VisitorRateThrottle]
    serializer_class = BeaconSerializer

    def post(self, request):
        serializer = BeaconSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer = customer_for(request.user)
        for event in serializer.validated_data["events"]:
            record(
                event["event_type"], customer_id=customer.pk if customer else None,
                visitor_id=request._request.visitor_id, product_id=event["product"], surface=event["surface"],
                experiments=event.get("experiments"), query=event.get("query", ""),
            )
        return Response({"accepted": len(serializer.validated_data["events"])}, status=status.HTTP_202_ACCEPTED)
