"""``POST /api/v1/events``: the beacon browsers use for what only they see (impressions, clicks).

Anyone can call it, so nothing it takes is trusted beyond what it is checked for: the body's size and
JSON nesting are bounded before anything parses it, every string is one PostgreSQL can store, requests
are rate-limited per visitor and per address, and experiment variants are set by the server from what
it showed the shopper on the event's surface, never taken from the browser.
"""

import re

from django.conf import settings
from django.middleware.csrf import CsrfViewMiddleware
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError, PermissionDenied
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from commerce.catalogue.models import Product
from commerce.customers.experiments import surface_tags
from commerce.customers.services import customer_for
from commerce.events.models import EventType
from commerce.events.services import record
from commerce.events.validation import BIGINT
from core.schema import (
    BAD_REQUEST,
    RETRY_AFTER,
    THROTTLED,
    ErrorSerializer,
    JsonCharField,
    JsonIntegerField,
    JsonRegexField,
)
from core.security import client_ip_address

# Purchases, carts and views are recorded by the server where they happen; a browser may only
# report what it alone observes.
BEACON_EVENT_TYPES = [EventType.RECOMMENDATION_IMPRESSION, EventType.RECOMMENDATION_CLICK]
MAX_EVENTS_PER_BEACON = 50
# 50 events fit in a few kilobytes; this leaves room for long search queries and bounds the work below.
MAX_BEACON_BYTES = 256 * 1024
# A beacon is 3 levels deep ({"events": [{…}]}). Python's json parser recurses: near 1,000 levels it
# fails with RecursionError, a 500, so deeper bodies are refused before anything parses them.
MAX_JSON_DEPTH = 8
# A JSON string (an unterminated one runs to the end of the body, so the scan stays linear) or a bracket.
_JSON_STRING_OR_BRACKET = re.compile(rb'"(?:[^"\\]++|\\[\s\S]?)*+(?:"|\Z)|[\[\]{}]')


def json_nested_deeper_than(body: bytes, limit: int) -> bool:
    """Whether the JSON text ``body`` nests arrays and objects more than ``limit`` levels deep (brackets
    inside strings do not count)."""
    depth = 0
    for token in _JSON_STRING_OR_BRACKET.finditer(body):
        if token[0] in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif token[0] in (b"]", b"}"):
            depth -= 1
    return False


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
    """Per visitor cookie. Requests without a valid one get a new visitor id each time, so they count
    together per client address."""

    scope = "events"

    def get_rate(self):
        return settings.VITRINE_EVENT_BEACON_RATE

    def get_cache_key(self, request, view):
        if request._request.visitor_id_is_new:
            return f"throttle:events:cookieless:{client_ip_address(request)}"
        return f"throttle:events:visitor:{request._request.visitor_id}"


class AddressRateThrottle(SimpleRateThrottle):
    """Per client address, all its visitors together: higher than per visitor, as many shoppers can share
    an address (an office, a mobile carrier's NAT)."""

    scope = "events-address"

    def get_rate(self):
        return settings.VITRINE_EVENT_BEACON_RATE_PER_ADDRESS

    def get_cache_key(self, request, view):
        return f"throttle:events:address:{client_ip_address(request)}"


class BeaconEventSerializer(serializers.Serializer):
    event_type = serializers.ChoiceField(choices=BEACON_EVENT_TYPES)
    product = JsonIntegerField(min_value=1, max_value=BIGINT - 1)
    surface = JsonRegexField(r"\A[\w:.\-/]{1,64}\Z", help_text="e.g. block:3f2a, product_page, search")
    # CharField refuses NUL characters and lone surrogates itself. No "experiments": the server sets them.
    query = JsonCharField(max_length=512, required=False, allow_blank=True)


class BeaconSerializer(serializers.Serializer):
    events = BeaconEventSerializer(many=True, allow_empty=False, max_length=MAX_EVENTS_PER_BEACON)

    def validate_events(self, events):
        wanted = {event["product"] for event in events}
        known = set(Product.objects.filter(pk__in=wanted).values_list("pk", flat=True))
        if unknown := sorted(wanted - known):
            raise serializers.ValidationError(f"Unknown product id(s): {', '.join(map(str, unknown))}.")
        return events


class BeaconAcceptedSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(min_value=1, max_value=MAX_EVENTS_PER_BEACON, help_text="Events queued.")


class EventBeaconView(APIView):
    parser_classes = [JSONParser]  # the shop's script sends JSON; a form or multipart body gets 415
    permission_classes = [SameOriginWithCsrfToken]
    throttle_classes = [AddressRateThrottle, VisitorRateThrottle]
    serializer_class = BeaconSerializer

    def initial(self, request, *args, **kwargs):
        # Before anything parses the body: the permission's CSRF check reads request.POST, which does.
        if len(request.body) > MAX_BEACON_BYTES:
            raise ParseError(f"The body is larger than {MAX_BEACON_BYTES:,} bytes.")
        if json_nested_deeper_than(request.body, MAX_JSON_DEPTH):
            raise ParseError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.")
        super().initial(request, *args, **kwargs)

    @extend_schema(
        summary="Record recommendation impressions and clicks",
        description=(
            "What only the browser sees: which recommended products were shown and which were clicked, up to "
            f"{MAX_EVENTS_PER_BEACON} events per call, for products of the catalogue. Purchases, carts and "
            "views are recorded by the server and refused here. The events are queued and stored within "
            "seconds, for the shopper's visitor cookie (and customer, when logged in).\n\n"
            "Like a form of the shop it needs the `csrftoken` cookie every page sets, echoed in the "
            "`X-CSRFToken` header (over HTTPS also a same-origin `Origin` or `Referer`); without them: 403. "
            "Rate-limited per visitor and per client address (`VITRINE_EVENT_BEACON_RATE`, "
            "`VITRINE_EVENT_BEACON_RATE_PER_ADDRESS`): 429."
        ),
        request=BeaconSerializer,
        parameters=[RETRY_AFTER],
        responses={
            202: BeaconAcceptedSerializer,
            400: BAD_REQUEST,
            403: OpenApiResponse(ErrorSerializer, description="No CSRF token, or one that does not match."),
            415: OpenApiResponse(ErrorSerializer, description="The body is not `application/json`."),
            429: THROTTLED,
        },
        auth=[{"csrfCookie": [], "csrfHeader": []}],
    )
    def post(self, request):
        serializer = BeaconSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        events = serializer.validated_data["events"]
        customer = customer_for(request.user)
        tags = {surface: surface_tags(request._request, surface) for surface in {event["surface"] for event in events}}
        for event in events:
            record(
                event["event_type"], customer_id=customer.pk if customer else None,
                visitor_id=request._request.visitor_id, product_id=event["product"], surface=event["surface"],
                experiments=tags[event["surface"]], query=event.get("query", ""),
            )
        return Response({"accepted": len(events)}, status=status.HTTP_202_ACCEPTED)
