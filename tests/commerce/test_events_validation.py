import datetime as dt
import uuid

import pytest

from commerce.events.validation import check_storable, repaired


def event(**fields) -> dict:
    """An event as ``services.record`` builds it."""
    return {"id": str(uuid.uuid4()), "created_at": dt.datetime.now(dt.UTC).isoformat(), "event_type": "purchase",
            "customer_id": 12, "anonymous_id": str(uuid.uuid4()), "session_id": "s" * 32, "product_id": 9,
            "quantity": 2, "price": "99999999.99", "surface": "s" * 64, "experiments": {"carousel": "b"},
            "query": "blue mug", **fields}


def test_an_event_as_record_builds_it_is_storable():
    check_storable(event())
    check_storable({"id": str(uuid.uuid4()), "created_at": "2026-12-07T10:00:00Z", "event_type": "view"})


@pytest.mark.parametrize(("fields", "reason"), [
    ({"experiments": {"a\x00": "b"}}, "experiment key"),
    ({"experiments": {"\ud800": "b"}}, "experiment key"),
    ({"experiments": {"k" * 65: "b"}}, "experiment key"),
    ({"experiments": {"carousel": 1}}, "variant of 'carousel'"),
    ({"experiments": ["carousel", "b"]}, "experiments"),
    ({"experiments": {f"e{n}": "a" for n in range(21)}}, "experiments"),
    ({"surface": "s" * 65}, "surface"),
    ({"surface": "\udc80"}, "surface"),
    ({"session_id": None}, "session_id"),
    ({"query": "mug\x00"}, "query"),
    ({"event_type": "teleport"}, "event type"),
    ({"id": "urn:uuid:12345678-1234-5678-1234-567812345678"}, "id"),
    ({"anonymous_id": 7}, "anonymous_id"),
    ({"customer_id": 2 ** 63}, "customer_id"),
    ({"product_id": "9"}, "product_id"),
    ({"quantity": True}, "quantity"),
    ({"quantity": -(2 ** 31) - 1}, "quantity"),
    ({"price": "100000000.00"}, "price"),
    ({"price": "99999999.995"}, "price"),  # rounds to 100,000,000.00
    ({"price": "NaN"}, "price"),
    ({"price": "\u0663"}, "price"),  # an Arabic-Indic three: a digit to Python, not to PostgreSQL
    ({"created_at": "2026-12-07T10:00:00"}, "created_at"),  # no UTC offset
    ({"created_at": "2026-02-30T10:00:00+00:00"}, "created_at"),
    ({"created_at": "2026-W49-1T10:00:00+00:00"}, "created_at"),
])
def test_what_postgres_cannot_store_is_refused_with_the_field_named(fields, reason):
    with pytest.raises(ValueError, match=reason):
        check_storable(event(**fields))


def test_an_event_that_is_not_an_object_is_refused():
    with pytest.raises(ValueError, match="JSON object"):
        check_storable(["view"])


def test_repair_drops_unstorable_characters_and_cuts_strings_to_their_column():
    broken = event(surface="block:\x00" + "x" * 70, session_id="s\ud800", query="mug\x00",
                   experiments={"carousel\x00": "b\udfff"})

    fixed = repaired(broken)

    check_storable(fixed)
    assert fixed == {**broken, "surface": "block:" + "x" * 58, "session_id": "s", "query": "mug",
                     "experiments": {"carousel": "b"}}
