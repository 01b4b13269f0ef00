import datetime as dt
import json
import threading
import time
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from commerce.events import services
from commerce.events.models import CustomerEvent, EventType, VisitorLink
from tests.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def at(hours_ago: float) -> dt.datetime:
    return NOW - dt.timedelta(hours=hours_ago)


def stored(**filters) -> int:
    return CustomerEvent.objects.filter(**filters).count()


def test_record_queues_in_redis_and_drain_stores_every_field():
    customer, product, visitor = CustomerFactory(), ProductFactory(), uuid.uuid4()

    event_id = services.record(
        EventType.ADD_TO_CART, customer_id=customer.pk, visitor_id=visitor, product_id=product.pk, quantity=2,
        price=Decimal("9.99"), surface="block:abc", experiments={"carousel": "als"}, session_id="s1",
    )
    assert stored() == 0 and services.queue_depth()["queued"] == 1

    assert services.drain_events() == 1

    event = CustomerEvent.objects.get()
    assert str(event.id) == event_id
    assert (event.customer_id, event.anonymous_id, event.product_id) == (customer.pk, visitor, product.pk)
    assert (event.quantity, event.price, event.surface) == (2, Decimal("9.99"), "block:abc")
    assert event.experiments == {"carousel": "als"} and event.session_id == "s1"
    assert services.queue_depth() == {"queued": 0, "processing": 0, "dead": 0}


def test_record_refuses_unknown_event_types():
    with pytest.raises(ValueError):
        services.record("teleport")


def claimed_by_a_dead_drainer(count: int, lease_seconds: float = services.DRAIN_LEASE_SECONDS) -> services.Drainer:
    """A drainer that registered and claimed ``count`` queued events, then died: no heartbeat renews its lease."""
    drainer = services.Drainer(services.redis_client(), lease_seconds=lease_seconds)
    drainer.register()
    assert len(drainer.claim(count)) == count
    return drainer


def wait_until_lease_expires(drainer: services.Drainer) -> None:
    while services.redis_client().exists(drainer.lease_key):
        time.sleep(0.01)


def test_drain_is_idempotent_when_a_batch_is_replayed():
    for _ in range(3):
        services.record(EventType.VIEW, product_id=1, visitor_id=uuid.uuid4())
    batch = services.redis_client().lrange(services.QUEUE_KEY, 0, -1)
    services.store_events([json.loads(raw) for raw in batch])  # stored, then "crashed"…
    drainer = claimed_by_a_dead_drainer(3, lease_seconds=0.05)  # …before the batch was acknowledged
    wait_until_lease_expires(drainer)

    assert services.drain_events() == 0  # replayed: nothing new
    assert stored() == 3
    assert services.queue_depth()["processing"] == 0


def test_a_killed_drainers_batch_is_reclaimed_once_its_lease_expired_and_stored_once():
    for product_id in range(1, 6):
        services.record(EventType.VIEW, product_id=product_id)
    dead = claimed_by_a_dead_drainer(3, lease_seconds=0.3)

    assert services.drain_events() == 2  # the queue's rest; the batch is still leased
    assert services.queue_depth() == {"queued": 0, "processing": 3, "dead": 0}
    wait_until_lease_expires(dead)
    assert services.drain_events() == 3
    assert services.drain_events() == 0

    assert sorted(CustomerEvent.objects.values_list("product_id", flat=True)) == [1, 2, 3, 4, 5]
    assert services.queue_depth() == {"queued": 0, "processing": 0, "dead": 0}
    assert services.redis_client().smembers(services.DRAINERS_KEY) == set()


def test_a_live_drainers_batch_is_never_taken_while_its_heartbeat_renews_the_lease():
    for product_id in range(1, 5):
        services.record(EventType.VIEW, product_id=product_id)

    with services.Drainer(services.redis_client(), lease_seconds=1.0) as alive:
        batch = alive.claim(3)
        time.sleep(1.5)  # longer than the lease: only the heartbeat keeps it
        assert services.drain_events() == 1  # the queue's rest, not the live drainer's batch
        assert services.queue_depth()["processing"] == 3
        assert alive.store_and_acknowledge(batch) == 3

    assert stored() == 4 and services.queue_depth() == {"queued": 0, "processing": 0, "dead": 0}
    assert services.live_drainers() == 0


def test_drainers_claim_batches_of_their_own_while_another_holds_one():
    services.redis_client().rpush(services.QUEUE_KEY, *(raw_event(product_id=n) for n in range(1, 11)))

    with services.Drainer(services.redis_client()) as first:
        batch = first.claim(4)
        assert services.drain_events(batch_size=2) == 6  # a second drainer does not wait for the first
        assert first.store_and_acknowledge(batch) == 4

    assert sorted(CustomerEvent.objects.values_list("product_id", flat=True)) == list(range(1, 11))
    assert services.queue_depth() == {"queued": 0, "processing": 0, "dead": 0}


@pytest.mark.django_db(transaction=True)  # each thread commits on its own connection
def test_two_drainers_in_threads_drain_one_queue_with_nothing_lost_or_duplicated():
    events = [raw_event(product_id=n) for n in range(4000)]
    services.redis_client().rpush(services.QUEUE_KEY, *events)
    start = threading.Barrier(2)
    inserted = [0, 0]

    def drain(index: int) -> None:
        try:
            start.wait()
            inserted[index] = services.drain_events(batch_size=100)
        finally:
            connection.close()

    threads = [threading.Thread(target=drain, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(inserted) == 4000 and all(inserted)  # both stored rows
    ids = list(CustomerEvent.objects.values_list("id", flat=True))
    assert len(ids) == len(set(ids)) == 4000
    assert {str(event_id) for event_id in ids} == {json.loads(raw)["id"] for raw in events}
    assert services.queue_depth() == {"queued": 0, "processing": 0, "dead": 0}


def test_a_batch_left_by_a_drainer_from_before_concurrent_draining_is_replayed_once_its_lock_expired():
    client = services.redis_client()
    client.rpush(services.PROCESSING_KEY, raw_event(product_id=1), raw_event(product_id=2))
    client.set(services.DRAIN_LOCK_KEY, "old-drainer", px=300)

    assert services.drain_events() == 0  # its lock still holds
    while client.exists(services.DRAIN_LOCK_KEY):
        time.sleep(0.01)
    assert services.drain_events() == 2

    assert services.queue_depth() == {"queued": 0, "processing": 0, "dead": 0}


def test_malformed_queued_items_go_to_the_dead_letter_list_not_nowhere():
    services.redis_client().rpush(services.QUEUE_KEY, b"{not json")
    services.record(EventType.VIEW, product_id=1)

    assert services.drain_events() == 1
    assert services.queue_depth()["dead"] == 1
    [letter] = services.dead_letters()
    assert letter.raw == b"{not json" and letter.reason.startswith("not valid JSON")


@pytest.mark.parametrize(("field", "value"), [
    ("experiments", {"a\u0000": "b"}),
    ("experiments", {"\ud800": "b"}),
    ("experiments", {"carousel": "b\u0000"}),
    ("experiments", {"carousel": {"nested": "b"}}),
    ("surface", "block:\u0000"),
    ("surface", "\udfff"),
    ("query", "mug\u0000"),
    ("session_id", "s" * 65),
    ("quantity", 2 ** 31),
    ("price", Decimal("100000000")),
    ("visitor_id", "not-a-uuid"),
])
def test_record_refuses_what_postgres_cannot_store_and_queues_nothing(field, value):
    with pytest.raises(ValueError):
        services.record(EventType.VIEW, product_id=1, **{field: value})

    assert services.queue_depth() == {"queued": 0, "processing": 0, "dead": 0}


def raw_event(**fields) -> str:
    """A queued item as ``record`` writes it, built by hand: what a poison that got past ``record`` looks like."""
    event = {"id": str(uuid.uuid4()), "created_at": timezone.now().isoformat(), "event_type": "view",
             "customer_id": None, "anonymous_id": None, "session_id": "", "product_id": 1, "quantity": 1,
             "price": None, "surface": "", "experiments": {}, "query": ""}
    return json.dumps({**event, **fields})


def test_poisoned_events_are_dead_lettered_with_their_reason_and_every_good_event_is_stored():
    poisons = {  # queued item → what its dead letter's reason names
        raw_event(event_type="recommendation_click", experiments={"a\u0000": "b"}): "experiment key",  # the old hole
        raw_event(experiments={"\ud800": "b"}): "experiment key",
        raw_event(surface="\ud800"): "surface",
        raw_event(quantity=2 ** 40): "quantity",
        raw_event(created_at="2026-W49-1T10:00:00+00:00"): "created_at",  # Python reads week dates, PostgreSQL not
        "[1, 2]": "JSON object",
        "{oops": "not valid JSON",
    }
    queue = []
    for n, poison in enumerate(poisons):
        queue += [raw_event(product_id=100 + n), poison]
    queue.append(raw_event(product_id=200))
    services.redis_client().rpush(services.QUEUE_KEY, *queue)

    assert services.drain_events() == len(poisons) + 1

    assert sorted(CustomerEvent.objects.values_list("product_id", flat=True)) == [*range(100, 107), 200]
    assert services.queue_depth() == {"queued": 0, "processing": 0, "dead": len(poisons)}
    letters = services.dead_letters()
    assert [letter.raw.decode() for letter in letters] == list(poisons)
    assert all(poisons[letter.raw.decode()] in letter.reason for letter in letters)
    services.record(EventType.PURCHASE, product_id=300)  # and ingest keeps flowing
    assert services.drain_events() == 1 and stored(product_id=300) == 1


def test_a_batch_postgres_rejects_is_split_until_only_the_rejected_events_are_left_out():
    # A rule the checks before PostgreSQL do not know: the drain must find the offending rows itself.
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE events_customerevent ADD CONSTRAINT test_no_poison CHECK (surface <> 'poison')")
    queue = [raw_event(product_id=n, surface="poison" if n in (3, 4, 17) else "ok") for n in range(1, 21)]
    services.redis_client().rpush(services.QUEUE_KEY, *queue)

    assert services.drain_events() == 17

    assert sorted(CustomerEvent.objects.values_list("product_id", flat=True)) == [
        n for n in range(1, 21) if n not in (3, 4, 17)]
    letters = services.dead_letters()
    assert [json.loads(letter.raw)["product_id"] for letter in letters] == [3, 4, 17]
    assert all("rejected by PostgreSQL" in letter.reason and "test_no_poison" in letter.reason for letter in letters)
    assert services.queue_depth()["processing"] == 0


def test_a_poisoned_batch_left_by_an_interrupted_drain_no_longer_blocks_ingest():
    services.redis_client().rpush(services.QUEUE_KEY, raw_event(product_id=1), raw_event(experiments={"a\u0000": "b"}))
    wait_until_lease_expires(claimed_by_a_dead_drainer(2, lease_seconds=0.05))
    services.record(EventType.VIEW, product_id=2)

    assert services.drain_events() == 2

    assert sorted(CustomerEvent.objects.values_list("product_id", flat=True)) == [1, 2]
    assert services.queue_depth() == {"queued": 0, "processing": 0, "dead": 1}


def test_replaying_dead_letters_queues_them_again_and_repair_makes_them_storable():
    poison = raw_event(product_id=5, surface="block:\u0000x", experiments={"carousel\u0000": "b"})
    services.redis_client().rpush(services.QUEUE_KEY, poison, b"{oops")
    services.drain_events()
    assert services.queue_depth()["dead"] == 2

    assert services.replay_dead_letters() == 2  # as they are: dead-lettered again
    assert services.queue_depth() == {"queued": 2, "processing": 0, "dead": 0}
    services.drain_events()
    assert [letter.raw for letter in services.dead_letters()] == [poison.encode(), b"{oops"]

    assert services.replay_dead_letters(repair=True) == 2
    services.drain_events()

    event = CustomerEvent.objects.get()
    assert (event.product_id, event.surface, event.experiments) == (5, "block:x", {"carousel": "b"})
    assert [letter.raw for letter in services.dead_letters()] == [b"{oops"]  # not JSON: nothing to repair


def test_dead_letters_keep_bytes_that_are_not_utf8_unchanged():
    services.redis_client().rpush(services.QUEUE_KEY, b"\xff\xfe{")
    services.drain_events()

    assert [letter.raw for letter in services.dead_letters()] == [b"\xff\xfe{"]
    services.replay_dead_letters()
    assert services.redis_client().lrange(services.QUEUE_KEY, 0, -1) == [b"\xff\xfe{"]


def test_items_dead_lettered_before_reasons_were_kept_are_listed_and_replayed_as_they_are():
    services.redis_client().rpush(services.DEAD_LETTER_KEY, b"{legacy")  # raw, as the drain used to push them

    [letter] = services.dead_letters()

    assert (letter.raw, letter.reason) == (b"{legacy", "not valid JSON")
    assert services.replay_dead_letters() == 1
    assert services.redis_client().lrange(services.QUEUE_KEY, 0, -1) == [b"{legacy"]


def test_purging_dead_letters_deletes_them():
    services.redis_client().rpush(services.QUEUE_KEY, b"{oops", b"[")
    services.drain_events()

    assert services.purge_dead_letters() == 2
    assert services.queue_depth()["dead"] == 0 and services.dead_letters() == []


def test_record_writes_straight_to_postgres_when_redis_is_down(monkeypatch, caplog, tmp_path):
    import redis

    # A real client whose server is gone (its socket no longer exists): the connection is refused.
    unreachable = redis.Redis(unix_socket_path=str(tmp_path / "stopped-redis.sock"), socket_connect_timeout=0.2)
    monkeypatch.setattr(services, "redis_client", lambda: unreachable)
    services.record(EventType.VIEW, product_id=7)

    assert stored(product_id=7) == 1
    assert "Redis unavailable" in caplog.text


def test_login_link_covers_stored_and_still_queued_events():
    customer, visitor = CustomerFactory(), uuid.uuid4()
    services.record(EventType.VIEW, visitor_id=visitor, product_id=1)
    services.drain_events()  # stored before login
    services.record(EventType.VIEW, visitor_id=visitor, product_id=2)  # still queued at login

    assert services.link_visitor(customer.pk, visitor) == 1
    services.drain_events()

    assert VisitorLink.objects.get(visitor_id=visitor).customer == customer
    assert set(CustomerEvent.objects.filter(customer=customer).values_list("product_id", flat=True)) == {1, 2}


def test_a_drainer_that_lost_its_lease_leaves_the_batch_and_its_dead_letters_to_the_reclaimer():
    services.redis_client().rpush(services.QUEUE_KEY, raw_event(product_id=1), b"{oops")
    drainer = claimed_by_a_dead_drainer(2, lease_seconds=0.05)
    batch = services.redis_client().lrange(drainer.processing_key, 0, -1)
    wait_until_lease_expires(drainer)

    with pytest.raises(services.LeaseLost):
        drainer.store_and_acknowledge(batch)  # stored, but no longer its batch to acknowledge

    assert stored() == 1 and services.queue_depth() == {"queued": 0, "processing": 2, "dead": 0}
    assert services.drain_events() == 0  # the replay inserts nothing twice…
    assert stored() == 1 and services.queue_depth() == {"queued": 0, "processing": 0, "dead": 1}  # …and letters once
