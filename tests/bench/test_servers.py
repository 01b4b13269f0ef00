"""``bench.servers``: a PostgreSQL and a Redis of a benchmark's own, on loopback TCP ports, stopped again."""

import psycopg
import pytest
import redis

from bench.servers import database_url, free_port, start_postgres, start_redis, stop, stop_postgres


def test_a_postgres_started_on_a_port_has_its_settings_and_pgvector_and_stops(tmp_path):
    pgdata = tmp_path / "postgres"
    url = start_postgres(pgdata, free_port(), {"work_mem": "16MB"})
    try:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("CREATE EXTENSION vector")
            assert connection.execute("SELECT '[1,2]'::vector <-> '[1,3]'::vector").fetchone()[0] == 1.0
            assert connection.execute("SHOW work_mem").fetchone()[0] == "16MB"
            assert connection.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"
    finally:
        stop_postgres(pgdata)

    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)


def test_a_redis_started_on_a_port_keeps_an_append_only_file_and_stops(tmp_path):
    process, url = start_redis(tmp_path, free_port(), append_only=True)
    try:
        client = redis.Redis.from_url(url)
        client.rpush("queue", "event")
        assert client.lrange("queue", 0, -1) == [b"event"]
        assert client.config_get("appendonly") == {"appendonly": "yes"}
    finally:
        stop(process)

    assert process.returncode is not None


def test_a_database_url_names_a_unix_socket_directory_in_its_query_and_a_host_in_its_authority():
    socket_settings = {"USER": "postgres", "PASSWORD": "", "HOST": "/run/pg", "PORT": "", "NAME": "shop"}
    tcp_settings = {"USER": "app", "PASSWORD": "s/cret", "HOST": "127.0.0.1", "PORT": "5433", "NAME": "shop"}

    assert database_url(socket_settings) == "postgresql://postgres@/shop?host=/run/pg"
    assert database_url(tcp_settings) == "postgresql://app:s%2Fcret@127.0.0.1:5433/shop"
