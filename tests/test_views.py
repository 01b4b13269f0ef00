"""``/healthz``: what a load balancer and an operator read."""

import pytest

from vitrine.celery import heartbeat

pytestmark = pytest.mark.django_db


def test_health_reports_database_redis_and_no_heartbeat_before_any_worker_ran(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "redis": "ok", "worker_heartbeat_age_seconds": None}
    assert "no-cache" in response["Cache-Control"]


def test_health_reports_the_age_of_the_workers_last_heartbeat(client):
    heartbeat.apply()  # as a worker runs it

    age = client.get("/healthz").json()["worker_heartbeat_age_seconds"]

    assert age is not None and 0 <= age < 5
