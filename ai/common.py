"""What the AI apps share without importing each other: carousel strategy names (blocks, experiments and
recommendations speak them), attribute matching for merchandisers' rules, pgvector literals, the bulk
loaders (binary and text COPY, ``unnest`` inserts), work beside the caller on another connection
(``beside``) and scratch databases for offline evaluations and benchmarks."""

import datetime as dt
import json
import os
import threading
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import psycopg
from django.core.management import call_command
from django.db import close_old_connections, connection, connections
from pgvector.psycopg.vector import register_vector_info
from psycopg.types import TypeInfo


class CarouselStrategy:
    """What a recommendation carousel shows (``blocks.RecommendationCarouselBlock``)."""

    PERSONALISED = "personalised"
    TRENDING = "trending"
    SIMILAR = "similar"
    BOUGHT_TOGETHER = "bought_together"
    RECENTLY_VIEWED = "recently_viewed"
    BUY_AGAIN = "buy_again"
    BECAUSE_VIEWED = "because_viewed"
    CHOICES = [(PERSONALISED, "Personalised for the shopper"),
               (TRENDING, "Trending: rising fastest against their usual interest (overall or in a category)"),
               (SIMILAR, "Similar to a chosen product"), (BOUGHT_TOGETHER, "Bought together with a chosen product"),
               (RECENTLY_VIEWED, "The shopper's recently viewed products"),
               (BUY_AGAIN, "Buy it again: the shopper's repeat purchases that are due"),
               (BECAUSE_VIEWED, "Because you viewed: similar to the shopper's last viewed product")]
    # Differ per shopper: rendered after the page loads, in a fragment cached per visitor.
    PER_SHOPPER = frozenset({PERSONALISED, RECENTLY_VIEWED, BUY_AGAIN, BECAUSE_VIEWED})


def has_attribute(attributes: dict, name: str, value: str) -> bool:
    """Whether a product's attributes hold ``name = value``, case-insensitively: merchandisers type
    "Colour = Red" (search and recommendation rules)."""
    wanted = {key.lower(): str(found).lower() for key, found in attributes.items()}
    return wanted.get(name.lower()) == value.lower()


def vector_literal(vector: np.ndarray) -> str:
    """A pgvector text literal ('[0.1, …]'): one string parameter instead of 384 floats for psycopg to
    adapt one by one (≈ 1 ms a query)."""
    return json.dumps(vector.tolist())


# Side threads, each keeping its own database connection between jobs (opening one costs more than many a
# query they run). Training runs up to three jobs beside itself at once.
SIDE_THREADS = 4
_side_lock = threading.Lock()
_side_pool: ThreadPoolExecutor | None = None


def beside(function: Callable, *args, **kwargs) -> Callable[[], object]:
    """Start ``function(*args, **kwargs)`` on a side thread with its own database connection, so the caller's
    thread and PostgreSQL work at once, and return what waits for its result (raising its error). Inline when
    the caller is inside a transaction: another connection would not see what it has not committed."""
    if connection.in_atomic_block:
        done = Future()
        try:
            done.set_result(function(*args, **kwargs))
        except Exception as error:  # raised where the caller waits, as a side thread's error would be
            done.set_exception(error)
        return done.result
    global _side_pool
    with _side_lock:
        if _side_pool is None:
            _side_pool = ThreadPoolExecutor(SIDE_THREADS, thread_name_prefix="beside")
    return _side_pool.submit(_on_side_connection, function, args, kwargs).result


def _on_side_connection(function: Callable, args: tuple, kwargs: dict):
    """A request's life cycle for the side thread's connection: closed when past ``CONN_MAX_AGE`` or
    broken (a restarted server), health-checked before its first use; and reopened when the callers moved
    to another database (``scratch_database`` renames the settings every thread's connection shares)."""
    close_old_connections()
    if connection.connection is not None and connection.connection.info.dbname != connection.settings_dict["NAME"]:
        connection.close()
    return function(*args, **kwargs)


def stop_side_threads() -> None:
    """Close every side thread's connection and stop the threads (a test run's end: its database can only
    be dropped once nothing is connected to it). The next ``beside`` starts new ones."""
    global _side_pool
    with _side_lock:
        pool, _side_pool = _side_pool, None
    if pool is None:
        return
    # One job per thread: each waits at the barrier until every thread holds one, so none takes two.
    everyone = threading.Barrier(SIDE_THREADS)

    def close_this_threads_connection():
        everyone.wait()
        connection.close()

    for _ in range(SIDE_THREADS):
        pool.submit(close_this_threads_connection)
    pool.shutdown(wait=True)


def _side_pool_after_fork() -> None:
    """A forked child (gunicorn, Celery prefork) has none of its parent's threads: it starts its own pool."""
    global _side_pool, _side_lock
    _side_pool, _side_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_side_pool_after_fork)


def copy_rows(sql: str, types: list[str], rows) -> None:
    """Binary COPY (numpy vectors and arrays need no text formatting)."""
    connection.ensure_connection()
    with connection.cursor() as cursor:
        # The vector adapter on this cursor only: the connection keeps the loaders pgvector.django expects.
        register_vector_info(cursor.cursor, TypeInfo.fetch(connection.connection, "vector"))
        with cursor.copy(sql) as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(row)


# Lines of COPY text sent per write: a few MB at a time, not 100k small writes.
COPY_LINES_PER_WRITE = 5000
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(sql: str, rows: Iterable[tuple]) -> None:
    """``COPY … FROM STDIN`` in text format with the rows formatted here: for rows of number arrays, which
    psycopg's ``copy_rows`` packs element by element in Python, several times slower. Values may be
    numbers, strings, datetimes, ``None`` and one-level lists of numbers or ``None``."""
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        lines = []
        for row in rows:
            lines.append("\t".join(map(_copy_field, row)))
            if len(lines) == COPY_LINES_PER_WRITE:
                copy.write("\n".join(lines) + "\n")
                lines.clear()
        if lines:
            copy.write("\n".join(lines) + "\n")


def _copy_field(value) -> str:
    """A value as COPY's text format spells it."""
    if value is None:
        return "\\N"
    if isinstance(value, list):
        if None in value:
            return "{" + ",".join("NULL" if item is None else str(item) for item in value) + "}"
        return "{" + ",".join(map(str, value)) + "}"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    return str(value)


def bulk_insert(model, rows: list[dict], *, returning: tuple[str, ...] = ()) -> list[tuple]:
    """Insert ``rows`` (dicts of column → value, all with the same keys) in one ``INSERT … SELECT FROM
    unnest(…)``: one array parameter per column however many rows. ``bulk_create`` compiles every row
    (measured: ≈ 0.1 ms a row, 7 s of the 68k proposals of a first run at 100k products, which now
    takes 6 s in all)."""
    if not rows:
        return []
    columns = list(rows[0])
    types = [model._meta.get_field(column).db_type(connection) for column in columns]
    returned = f" RETURNING {', '.join(returning)}" if returning else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
            f"SELECT * FROM unnest({', '.join(f'%s::{db_type}[]' for db_type in types)}){returned}",
            [[row[column] for row in rows] for column in columns],
        )
        return cursor.fetchall() if returning else []


@contextmanager
def scratch_database(*, keep: bool = False):
    """Point the default connection at a fresh, migrated database on the same server; drop it after, unless
    ``keep`` (a benchmark measuring it again later drops it with ``drop_database``)."""
    connection = connections["default"]
    original = dict(connection.settings_dict)
    name = f"vitrine_eval_{uuid.uuid4().hex[:10]}"
    with _maintenance_connection(original) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    connection.settings_dict["NAME"] = name
    try:
        call_command("migrate", verbosity=0, interactive=False)
        yield name
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(original)
        if not keep:
            drop_database(name)


def drop_database(name: str) -> None:
    """Drop a scratch database on the default connection's server, sessions still on it included."""
    with _maintenance_connection(connections["default"].settings_dict) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _maintenance_connection(settings_dict: dict) -> psycopg.Connection:
    params = {"dbname": "postgres", "user": settings_dict["USER"], "host": settings_dict["HOST"]}
    if settings_dict.get("PASSWORD"):
        params["password"] = settings_dict["PASSWORD"]
    if settings_dict.get("PORT"):
        params["port"] = settings_dict["PORT"]
    return psycopg.connect(autocommit=True, **params)
