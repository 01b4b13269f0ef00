import json
import uuid
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from commerce.events import services
from commerce.events.models import CustomerEvent

pytestmark = pytest.mark.django_db

POISON = json.dumps({"id": str(uuid.uuid4()), "created_at": timezone.now().isoformat(), "event_type": "view",
                     "product_id": 4, "surface": "block:\u0000\u001b[2J", "experiments": {"a\u0000": "b"}})


def dead_letter_events(*args, **options) -> str:
    out = StringIO()
    call_command("dead_letter_events", *args, stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def dead_lettered():
    """A poisoned event and an item that is not JSON, drained into the dead-letter list."""
    services.redis_client().rpush(services.QUEUE_KEY, POISON, b"{oops\x1b")
    services.drain_events()
    assert services.queue_depth()["dead"] == 2


def test_list_shows_each_dead_letter_with_its_reason_and_no_terminal_control_characters(dead_lettered):
    out = dead_letter_events("list")

    lines = out.splitlines()
    assert lines[0] == "2 dead-lettered events, oldest first:"
    assert lines[1].startswith("1. ") and lines[1].endswith("surface contains a NUL character or a lone surrogate")
    assert lines[2].strip() == POISON  # JSON escapes the NUL and ESC itself
    assert lines[3].startswith("2. ") and "not valid JSON" in lines[3]
    assert lines[4].strip() == "{oops\\x1b"
    assert "\x1b" not in out


def test_list_limit_shows_the_oldest(dead_lettered):
    out = dead_letter_events("list", "--limit", "1")

    assert out.splitlines()[0] == "2 dead-lettered events, the oldest 1 shown:"
    assert "not valid JSON" not in out


def test_list_of_an_empty_dead_letter_list():
    assert dead_letter_events("list") == "No dead-lettered events.\n"


def test_list_refuses_a_limit_below_one():
    with pytest.raises(CommandError, match="--limit"):
        dead_letter_events("list", "--limit", "0")


def test_replay_with_repair_stores_the_fixed_event_and_says_what_happens_next(dead_lettered):
    out = dead_letter_events("replay", "--repair")

    assert "Queued 2 dead-lettered events again (repaired)" in out
    services.drain_events()
    event = CustomerEvent.objects.get()
    assert (event.product_id, event.surface, event.experiments) == (4, "block:\x1b[2J", {"a": "b"})
    assert [letter.raw for letter in services.dead_letters()] == [b"{oops\x1b"]


def test_replay_as_is_queues_them_again():
    services.redis_client().rpush(services.QUEUE_KEY, b"{oops")
    services.drain_events()

    out = dead_letter_events("replay")

    assert "Queued 1 dead-lettered events again." in out
    assert services.queue_depth() == {"queued": 1, "processing": 0, "dead": 0}


def test_purge_asks_first_and_deletes_only_when_told_yes(dead_lettered, monkeypatch):
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    assert dead_letter_events("purge") == "Nothing deleted.\n"
    assert services.queue_depth()["dead"] == 2

    monkeypatch.setattr("builtins.input", lambda prompt: "y")
    assert dead_letter_events("purge") == "Purged 2 dead-lettered events.\n"
    assert services.queue_depth()["dead"] == 0


def test_purge_without_input(dead_lettered):
    assert dead_letter_events("purge", "--no-input") == "Purged 2 dead-lettered events.\n"
    assert services.dead_letters() == []


def test_an_action_is_required():
    with pytest.raises(CommandError):
        dead_letter_events()
