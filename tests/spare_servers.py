"""A PostgreSQL and a Redis of their own, for tests that kill servers: the suite's servers stay up."""

import os
import shutil
import signal
import socket
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from vitrine import embedded


@contextmanager
def spare_servers():
    # A short path: a unix socket path has a 107-byte limit.
    root = Path(tempfile.mkdtemp(prefix="vt-", dir="/tmp"))
    try:
        database = embedded.ensure_postgres(root)
        embedded.ensure_redis(root)
        yield root, database
    finally:
        # The data is thrown away: PostgreSQL's immediate shutdown (SIGQUIT), as a fast one can wait on a
        # server a test left in crash recovery; and SIGKILL for Redis, which on SIGTERM saves into the
        # directory removed below, fails, and stays up.
        for pid_of, stop_signal in ((postmaster_pid, signal.SIGQUIT), (redis_pid, signal.SIGKILL)):
            try:
                os.kill(pid_of(root), stop_signal)
            except (OSError, ValueError):
                pass
        shutil.rmtree(root, ignore_errors=True)


def postmaster_pid(root: Path) -> int:
    return int((root / "postgres" / "postmaster.pid").read_text().splitlines()[0])


def redis_pid(root: Path) -> int:
    return int((root / "redis" / "redis.pid").read_text().strip())


def kill(pid: int) -> None:
    """SIGKILL, as a crash or the OOM killer would, and wait until the process is gone."""
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.02)
    raise AssertionError(f"process {pid} survived SIGKILL")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, seconds: float, interval: float = 0.1):
    """``condition()``'s first truthy value within ``seconds``, else None."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    return None
