"""Crashes under running processes, on real servers: a killed PostgreSQL or Redis is back, and the shop
answers and the worker consumes again, with nobody typing a command. The servers are spare ones
(tests.spare_servers), so the suite's own keep running."""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from celery import Celery

from tests.spare_servers import free_port, kill, postmaster_pid, redis_pid, spare_servers, wait_until
from vitrine import embedded

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def servers():
    with spare_servers() as (root, _):
        yield root


def start(command: list[str], root: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "VITRINE_VAR_DIR": str(root), "DJANGO_SETTINGS_MODULE": "vitrine.settings",
           "VITRINE_REDIS_DB": "0", "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def health(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return json.load(response)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


@pytest.fixture
def web(servers, tmp_path):
    port = free_port()
    process = start([str(BIN / "gunicorn"), "vitrine.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
                    servers, tmp_path / "web.log")
    assert wait_until(lambda: health(port), seconds=60), (tmp_path / "web.log").read_text()[-3000:]
    yield port
    stop(process)


@pytest.fixture
def worker(servers, tmp_path):
    log = tmp_path / "worker.log"
    process = start([str(BIN / "celery"), "-A", "vitrine", "worker", "--queues", "default", "--concurrency", "1",
                     "--loglevel", "INFO"], servers, log)
    assert wait_until(lambda: "ready." in log.read_text(), seconds=90), log.read_text()[-3000:]
    yield log
    stop(process)


@pytest.mark.parametrize(("server", "pid_of"), [("database", postmaster_pid), ("redis", redis_pid)])
def test_the_shop_gets_a_killed_server_back_within_seconds(servers, web, server, pid_of):
    crashed = pid_of(servers)

    kill(crashed)

    assert wait_until(lambda: (health(web) or {}).get(server) == "ok", seconds=10)
    assert pid_of(servers) != crashed


def test_a_worker_restarts_a_killed_redis_and_consumes_again(servers, worker):
    # given a running worker whose broker is killed
    socket_path = embedded.redis_socket_path(servers)
    crashed = redis_pid(servers)
    kill(crashed)

    # when nobody restarts it, then the worker does
    assert wait_until(lambda: embedded._redis_answers(socket_path), seconds=10), worker.read_text()[-3000:]
    assert redis_pid(servers) != crashed

    # and a task queued afterwards runs
    client = Celery(broker=f"redis+socket://{socket_path}", backend=f"redis+socket://{socket_path}")
    result = client.send_task("vitrine.heartbeat", queue="default")
    assert result.get(timeout=60) > 0, worker.read_text()[-3000:]
    assert "Unrecoverable error" not in worker.read_text()
