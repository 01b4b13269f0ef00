import threading

import numpy as np
import pytest
from django.db import connection
from django.utils import timezone

from ai.common import beside, copy_text, stop_side_threads
from ai.recommendations.models import CustomerRecommendations, RecommendationModel
from commerce.customers.models import Customer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_copy_text_stores_numbers_nulls_and_times_exactly():
    # given lists as training builds them: ids, float32 scores widened to float, explanations with gaps
    customer, other = CustomerFactory(), CustomerFactory()
    model = RecommendationModel.objects.create(version="copy", trained_at=timezone.now(), settings={}, customers=2,
                                               products=3, interactions=3)
    computed_at = timezone.now()
    scores = [float(np.float32(0.12345)), 1e-05, 0.1 + 0.2]
    table = CustomerRecommendations._meta.db_table
    # when they are copied in as text
    copy_text(f"COPY {table} (customer_id, model_id, product_ids, scores, because, computed_at) FROM STDIN",
              [(customer.pk, model.pk, [3, 1, 2], scores, [None, 7, None], computed_at),
               (other.pk, model.pk, [], [], [], computed_at)])
    # then they read back bit for bit
    stored = CustomerRecommendations.objects.get(customer=customer)
    assert (stored.product_ids, stored.scores, stored.because) == ([3, 1, 2], scores, [None, 7, None])
    assert stored.computed_at == computed_at
    assert CustomerRecommendations.objects.get(customer=other).product_ids == []


def test_copy_text_stores_strings_with_tabs_newlines_and_backslashes_as_given():
    # given strings holding every character COPY's text format gives a meaning to
    notes = ["tab\there", "two\nlines", "back\\slash \\N", "carriage\rreturn", "\\."]
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE copied_notes (position int, note text)")
    # when they are copied in as text
    copy_text("COPY copied_notes (position, note) FROM STDIN", list(enumerate(notes)))
    # then each reads back as it was
    with connection.cursor() as cursor:
        cursor.execute("SELECT note FROM copied_notes ORDER BY position")
        assert [note for (note,) in cursor.fetchall()] == notes


def test_work_beside_a_transaction_runs_inline_and_sees_its_rows():
    # given a customer not committed yet
    customer = CustomerFactory()
    # when work is handed beside from inside the transaction
    wait = beside(lambda: (threading.get_ident(), Customer.objects.filter(pk=customer.pk).exists()))
    # then it ran in the caller's thread, where the row is visible
    assert wait() == (threading.get_ident(), True)


def test_an_error_of_inline_work_beside_is_raised_where_the_caller_waits():
    def fail():
        raise ValueError("broken COPY")

    wait = beside(fail)  # does not raise here: the caller's own work goes on first
    with pytest.raises(ValueError, match="broken COPY"):
        wait()


@pytest.mark.django_db(transaction=True)
def test_work_beside_outside_a_transaction_runs_on_its_own_kept_connection_and_raises_its_error():
    customer = CustomerFactory()
    caller = threading.get_ident()

    def backend():
        return threading.get_ident(), connection.cursor().connection.info.backend_pid, \
            Customer.objects.filter(pk=customer.pk).exists()

    # when work is handed beside with nothing uncommitted
    ident, pid, exists = beside(backend)()
    # then another thread ran it, on another server connection, and read the committed row
    assert ident != caller and exists
    assert pid != connection.cursor().connection.info.backend_pid
    # and the next job finds that connection open rather than connecting again
    assert beside(backend)()[1:] == (pid, True)

    def fail():
        raise ValueError("broken COPY")

    # and its error reaches the caller when it waits
    with pytest.raises(ValueError, match="broken COPY"):
        beside(fail)()


@pytest.mark.django_db(transaction=True)
def test_stopping_the_side_threads_closes_their_connections():
    # given side threads that have connected
    beside(lambda: Customer.objects.exists())()
    side = beside(lambda: connection.cursor().connection.info.backend_pid)()
    # when they are stopped
    stop_side_threads()
    # then the server has no session of theirs left, and work beside starts new ones
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [side])
        assert cursor.fetchone()[0] == 0
    assert beside(lambda: Customer.objects.count())() == 0


@pytest.mark.django_db(transaction=True)
def test_work_beside_follows_the_caller_to_another_database():
    def database():
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_database()")
            return cursor.fetchone()[0]

    # given a side thread connected to the test database
    test_database = connection.settings_dict["NAME"]
    assert beside(database)() == test_database
    # when the callers move to another database, as ``scratch_database`` moves them
    connection.close()
    connection.settings_dict["NAME"] = "postgres"
    try:
        moved = beside(database)()
    finally:
        connection.close()
        connection.settings_dict["NAME"] = test_database
    # then the side thread's work ran there too, and back here afterwards
    assert moved == "postgres"
    assert beside(database)() == test_database
