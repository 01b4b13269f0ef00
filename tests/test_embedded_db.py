"""The embedded PostgreSQL's database backend: it starts a killed server again and names why one died."""

import os
import signal

import pytest
from django.db import connections
from django.db.utils import OperationalError

from tests.spare_servers import kill, postmaster_pid, spare_servers
from vitrine.embedded_db.base import DatabaseWrapper


@pytest.fixture(scope="module")
def servers():
    with spare_servers() as (root, database):
        yield root, database


@pytest.fixture
def spare_connection(servers, django_db_blocker):
    """Our backend on the spare server, as a connection alias of its own (pytest-django guards only the
    suite's database; django.contrib.postgres looks the alias up on connect)."""
    _, database = servers
    connections.settings["spare"] = {**database, "NAME": "postgres", "CONN_MAX_AGE": 0}
    connections.configure_settings(connections.settings)
    wrapper = connections["spare"]
    assert isinstance(wrapper, DatabaseWrapper)
    with django_db_blocker.unblock():
        yield wrapper
        wrapper.close()
    del connections["spare"]
    del connections.settings["spare"]


def one(wrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone()[0]


def test_a_new_connection_starts_a_killed_postgres_again(servers, spare_connection):
    # given a server whose postmaster was killed (a crash, the OOM killer)
    root, _ = servers
    assert one(spare_connection) == 1
    crashed = postmaster_pid(root)
    kill(crashed)
    spare_connection.close()

    # when the next connection is made, then it starts the server and connects
    assert one(spare_connection) == 1
    assert postmaster_pid(root) != crashed


def test_an_error_from_a_server_crash_carries_the_cause_from_the_server_log(spare_connection):
    # given a backend that dies by SIGILL, as pgvector built for AVX-512 did on other CPUs
    with spare_connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    os.kill(backend, signal.SIGILL)

    # when the connection is used again, then the error says what the log says
    with pytest.raises(OperationalError) as error:
        one(spare_connection)
    assert any("terminated by signal 4: Illegal instruction" in note for note in error.value.__notes__)
