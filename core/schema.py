"""The published OpenAPI schema of ``/api/v1/`` (drf-spectacular) and what keeps it exact: which endpoints
it lists, how money is written, fields that take only what their schema says, the rules DRF enforces that
drf-spectacular leaves out, and the bodies of DRF's error responses, which every endpoint documents with
these objects. tests/test_api_contract.py holds the API to it."""

import re

from django.core.validators import RegexValidator
from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema_field
from rest_framework import serializers

AMOUNT = r"^\d{1,8}(?:\.\d{1,2})?$"  # money: up to 99999999.99, never negative


def public_api_only(endpoints):
    """drf-spectacular preprocessing hook: document /api/v1/ only, not Wagtail's internal admin API."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/v1/")]


def empty_query_parameters_count_as_absent(result, generator, request, public):
    """drf-spectacular postprocessing hook: DRF reads an empty optional query parameter (`limit=`) as one
    left out, as an HTML form sends it; `allowEmptyValue` says so."""
    for path in result["paths"].values():
        for operation in path.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
    return result


@extend_schema_field({"type": "string", "format": "decimal", "pattern": AMOUNT, "example": "12.50"})
class MoneyField(serializers.DecimalField):
    """An amount of money as a decimal string ("12.50"), in and out: a JSON float would round it. Taken
    only as plain digits, so the schema's pattern says exactly what is accepted (no "1e3", "-0", " 5")."""

    default_error_messages = {"invalid": "Enter an amount such as 12 or 12.50."}

    def __init__(self, **kwargs):
        super().__init__(max_digits=10, decimal_places=2, coerce_to_string=True, **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str) or not re.fullmatch(AMOUNT, data):
            self.fail("invalid")
        return super().to_internal_value(data)


class PriceDisclosureField(serializers.CharField):
    """The text a response's prices must be shown with because they depend on the shopper (a pricing
    experiment's variant), or null: every API that returns a shopper's price carries it."""

    def __init__(self, **kwargs):
        super().__init__(allow_null=True, help_text=(
            "Text that must be shown next to the prices because they depend on this shopper (a pricing "
            "experiment's variant); null when they do not."), **kwargs)


class JsonTypeOnly:
    """For a field of a JSON body: only the JSON type its schema gives. DRF's own fields also take "5" for
    an integer and 5 for a string, which the schema calls invalid."""

    json_type: type

    def to_internal_value(self, data):
        if not isinstance(data, self.json_type) or isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class JsonIntegerField(JsonTypeOnly, serializers.IntegerField):
    json_type = int


class JsonCharField(JsonTypeOnly, serializers.CharField):
    json_type = str


class JsonRegexField(JsonTypeOnly, serializers.RegexField):
    """Matched as sent, not trimmed first: " x" does not match the schema's pattern either. (Write the regex
    with \\A and \\Z: Python's $ also matches before a final newline.)"""

    json_type = str

    def __init__(self, regex, **kwargs):
        super().__init__(regex, trim_whitespace=False, **kwargs)


class ListBoundsSchema(OpenApiSerializerFieldExtension):
    """A nested ``many=True`` list with the bounds DRF enforces on it (drf-spectacular leaves them out)."""

    target_class = serializers.ListSerializer

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if min_items := max(self.target.min_length or 0, 0 if self.target.allow_empty else 1):
            schema["minItems"] = min_items
        if self.target.max_length is not None:
            schema["maxItems"] = self.target.max_length
        return schema


class RequestTextSchema(OpenApiSerializerFieldExtension):
    """Text as DRF's CharField takes it: never with a NUL character (PostgreSQL cannot store one) and, when it
    may not be blank, not only whitespace either (it is trimmed first). Both are 400s the schema should say."""

    target_class = serializers.CharField
    match_subclasses = True
    ANY_TEXT = r"^[^\u0000]+$"  # + not *: a blank string is the schema's separate blank option
    # Blank is what str.strip() removes: ECMA-262's \s, less the byte order mark, plus the information
    # separators \x1c–\x1f and NEL.
    NOT_BLANK = r"^[^\u0000]*(?:[^\s\u0000\u001c-\u001f\u0085]|\ufeff)[^\u0000]*$"

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        has_own_pattern = any(isinstance(validator, RegexValidator) for validator in self.target.validators)
        if direction == "request" and not has_own_pattern:
            trimmed_to_blank_is_refused = self.target.trim_whitespace and not self.target.allow_blank
            schema["pattern"] = self.NOT_BLANK if trimmed_to_blank_is_refused else self.ANY_TEXT
        return schema


class ErrorSerializer(serializers.Serializer):
    """DRF's body for a refused request: `{"detail": "the reason"}`."""

    detail = serializers.CharField()


class ValidationErrorSerializer(serializers.Serializer):
    """DRF's 400 body. Its keys are the request's own fields, so its schema is written by hand below."""


class ValidationErrorSchema(OpenApiSerializerExtension):
    target_class = ValidationErrorSerializer

    def map_serializer(self, auto_schema, direction):
        messages = {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "object"}]}}
        return {
            "type": "object",
            "description": "Each invalid field's messages under its name (nested per item for lists and "
                           "objects), `non_field_errors` for the fields together; `detail` alone for a request "
                           "refused as a whole (a body that cannot be parsed, a NUL character in the URL).",
            "minProperties": 1,
            "properties": {"detail": {"type": "string"}, "non_field_errors": messages},
            "additionalProperties": {"anyOf": [messages, {"type": "object"}]},
        }


BAD_REQUEST = OpenApiResponse(ValidationErrorSerializer, description="The request is invalid; the body says why.")
THROTTLED = OpenApiResponse(ErrorSerializer, description="Too many requests; retry after `Retry-After` seconds.")
RETRY_AFTER = OpenApiParameter("Retry-After", int, OpenApiParameter.HEADER, response=[429],
                               description="Seconds until the next request is allowed.")
