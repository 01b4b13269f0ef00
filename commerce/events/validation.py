"""What a ``CustomerEvent`` row can hold, checked before an event is queued and again before it is written.

An event PostgreSQL refuses must never reach the queue: it would fail its whole batch. Text may not
contain NUL (PostgreSQL text and jsonb cannot store it) or lone surrogates (not encodable as UTF-8);
strings must fit their columns and numbers their types; ids, times and prices must be in the forms
``record`` writes (Python accepts some that PostgreSQL does not, such as ISO week dates).
"""

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from commerce.events.models import CustomerEvent, EventType

UNSTORABLE_CHARACTER = re.compile("[\x00\ud800-\udfff]")
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2}(:\d{2})?)", re.ASCII)
DECIMAL_TEXT = re.compile(r"-?\d+(\.\d+)?", re.ASCII)
EVENT_TYPES = frozenset(EventType.values)  # a set: EventType.values builds a list on every access
BIGINT = 2 ** 63
INTEGER = 2 ** 31
# Experiment and variant keys are slugs of at most 64 and 32 characters; a tag is one per running experiment.
MAX_TAG_LENGTH = 64
MAX_TAGS = 20

_field = CustomerEvent._meta.get_field
_VARCHAR_LENGTHS = {name: _field(name).max_length for name in ("session_id", "surface")}
_PRICE_LIMIT = Decimal(10) ** (_field("price").max_digits - _field("price").decimal_places)
_CENTS = Decimal(1).scaleb(-_field("price").decimal_places)


def check_text(value, name: str, max_length: int | None = None) -> str:
    """``value`` if PostgreSQL can store it as text (of at most ``max_length`` characters); else ValueError."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, not {type(value).__name__}")
    if UNSTORABLE_CHARACTER.search(value):
        raise ValueError(f"{name} contains a NUL character or a lone surrogate")
    if max_length is not None and len(value) > max_length:
        raise ValueError(f"{name} is longer than {max_length} characters")
    return value


def _check_integer(value, name: str, bound: int, *, nullable: bool) -> None:
    if value is None and nullable:
        return
    if not isinstance(value, int) or isinstance(value, bool) or not -bound <= value < bound:
        raise ValueError(f"{name} must be an integer between {-bound} and {bound - 1}")


def _check_uuid(value, name: str, *, nullable: bool) -> None:
    if value is None and nullable:
        return
    if not isinstance(value, str) or not UUID_TEXT.fullmatch(value):
        raise ValueError(f"{name} must be a UUID (8-4-4-4-12 hexadecimal digits)")


def _check_price(value) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not DECIMAL_TEXT.fullmatch(value):
        raise ValueError("price must be a decimal number, e.g. 12.50")
    try:
        price = Decimal(value).quantize(_CENTS)
    except InvalidOperation:
        raise ValueError(f"price must be below {_PRICE_LIMIT}") from None
    if abs(price) >= _PRICE_LIMIT:
        raise ValueError(f"price must be below {_PRICE_LIMIT}")


def _check_created_at(value) -> None:
    if not isinstance(value, str) or not ISO_MOMENT.fullmatch(value):
        raise ValueError("created_at must be an ISO 8601 date and time with its UTC offset")
    try:
        dt.datetime.fromisoformat(value)
    except ValueError as error:
        raise ValueError(f"created_at is not a valid date and time ({error})") from None


def check_experiments(value) -> None:
    """{experiment key: variant key}: flat, string to string, short."""
    if not isinstance(value, dict):
        raise ValueError("experiments must be an object of experiment → variant")
    if len(value) > MAX_TAGS:
        raise ValueError(f"experiments has more than {MAX_TAGS} entries")
    for key, variant in value.items():
        check_text(key, "an experiment key", MAX_TAG_LENGTH)
        check_text(variant, f"the variant of {key!r}", MAX_TAG_LENGTH)


def check_storable(event) -> None:
    """Raise ValueError, with the reason, unless PostgreSQL can store ``event`` (the dict ``record`` queues)."""
    if not isinstance(event, dict):
        raise ValueError(f"an event must be a JSON object, not {type(event).__name__}")
    _check_uuid(event.get("id"), "id", nullable=False)
    _check_created_at(event.get("created_at"))
    if event.get("event_type") not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event.get('event_type')!r}")
    _check_integer(event.get("customer_id"), "customer_id", BIGINT, nullable=True)
    _check_uuid(event.get("anonymous_id"), "anonymous_id", nullable=True)
    check_text(event.get("session_id", ""), "session_id", _VARCHAR_LENGTHS["session_id"])
    _check_integer(event.get("product_id"), "product_id", BIGINT, nullable=True)
    _check_integer(event.get("quantity", 1), "quantity", INTEGER, nullable=False)
    _check_price(event.get("price"))
    check_text(event.get("surface", ""), "surface", _VARCHAR_LENGTHS["surface"])
    check_experiments(event.get("experiments") or {})
    check_text(event.get("query", ""), "query")


def repaired(event: dict) -> dict:
    """``event`` with the characters PostgreSQL cannot store dropped from its strings (experiment keys
    included) and its strings cut to their column's length; everything else as it was."""

    def clean(value, max_length=None):
        return UNSTORABLE_CHARACTER.sub("", value)[:max_length] if isinstance(value, str) else value

    fixed = {key: clean(value, _VARCHAR_LENGTHS.get(key)) for key, value in event.items()}
    if isinstance(fixed.get("experiments"), dict):
        fixed["experiments"] = {clean(key, MAX_TAG_LENGTH): clean(variant, MAX_TAG_LENGTH)
                                for key, variant in fixed["experiments"].items()}
    return fixed
