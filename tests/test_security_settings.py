"""Security settings: production mode (VITRINE_HTTPS=1) needs its own secret key and passes Django's deploy
checks, redirects plain HTTP and sends HSTS; every page carries a Content-Security-Policy, the shop's strict,
the Wagtail admin's and the API docs' relaxed only where they need it. (tests/e2e/test_content_security_policy.py
walks the pages in a browser under it.)"""

import json
import os
import re
import secrets
import subprocess
import sys

import pytest
from django.conf import settings

MANAGE = str(settings.BASE_DIR / "manage.py")
PRODUCTION = {"VITRINE_HTTPS": "1", "DJANGO_ALLOWED_HOSTS": "shop.example.com,testserver"}

# What a request sees, printed as JSON by a process started with the environment under test.
PROBE = """
import json
from django.conf import settings
from django.test import Client

plain, secure = Client(), Client()
print(json.dumps({
    "login_over_http": [(r := plain.get("/account/login/")).status_code, r.get("Location")],
    "healthz_over_http": plain.get("/healthz").status_code,
    "hsts_over_https": secure.get("/healthz", secure=True).get("Strict-Transport-Security"),
    "hsts_forwarded_https": plain.get("/healthz", HTTP_X_FORWARDED_PROTO="https").get("Strict-Transport-Security"),
}))
"""


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    """``manage.py ARGS`` in a new process with the project's own settings and ``env`` over this one's,
    without any DJANGO_SECRET_KEY unless ``env`` has one."""
    environment = {key: value for key, value in os.environ.items() if key != "DJANGO_SECRET_KEY"}
    environment |= {"DJANGO_SETTINGS_MODULE": "vitrine.settings", **env}
    return subprocess.run([sys.executable, MANAGE, *args], env=environment, capture_output=True, text=True,
                          timeout=120, cwd=settings.BASE_DIR)


def probe(**env: str) -> dict:
    completed = manage("shell", "-c", PROBE, **env)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {name: sources for name, *sources in (part.split() for part in policy.split(";") if part.strip())}


# --- production mode ------------------------------------------------------------------------------


def test_production_mode_without_a_secret_key_refuses_to_start():
    completed = manage("check", **PRODUCTION)

    assert completed.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY is not set. VITRINE_HTTPS=1 means production mode" \
        in completed.stderr


def test_the_local_demo_starts_without_a_secret_key():
    completed = manage("check")

    assert completed.returncode == 0, completed.stderr


def test_production_mode_passes_the_deploy_checks_without_a_warning():
    completed = manage("check", "--deploy", "--fail-level", "WARNING",
                       DJANGO_SECRET_KEY=secrets.token_urlsafe(50), **PRODUCTION)

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "System check identified no issues" in completed.stdout


def test_production_mode_redirects_plain_http_and_sends_hsts_but_answers_health_checks():
    seen = probe(DJANGO_SECRET_KEY=secrets.token_urlsafe(50), **PRODUCTION)

    assert seen["login_over_http"] == [301, "https://testserver/account/login/"]
    assert seen["healthz_over_http"] == 200  # a load balancer's check over plain HTTP
    assert seen["hsts_over_https"] == "max-age=31536000; includeSubDomains; preload"
    assert seen["hsts_forwarded_https"] is None  # no proxy configured: X-Forwarded-Proto is the client's word


def test_behind_a_proxy_its_forwarded_scheme_counts_as_https():
    seen = probe(DJANGO_SECRET_KEY=secrets.token_urlsafe(50), VITRINE_PROXY_COUNT="1",
                 VITRINE_HSTS_SECONDS="600", VITRINE_HSTS_PRELOAD="0", **PRODUCTION)

    assert seen["hsts_forwarded_https"] == "max-age=600; includeSubDomains"


# --- Content-Security-Policy ----------------------------------------------------------------------


@pytest.mark.django_db
def test_shop_pages_allow_only_their_own_scripts_and_the_inline_one_carrying_the_nonce(client, wagtail_site):
    response = client.get("/cart/")

    policy = directives(response)
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    assert policy["script-src"] == ["'self'", f"'nonce-{nonce}'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'self'"]
    inline_scripts = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", response.text)
    assert inline_scripts == [f' nonce="{nonce}"']
    assert "style=" not in response.text
    assert nonce not in directives(client.get("/cart/"))["script-src"][1]  # a new nonce per response


@pytest.mark.django_db
def test_the_wagtail_admin_may_run_its_inline_scripts_and_styles(client):
    policy = directives(client.get("/admin/login/"))

    assert policy["script-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert "blob:" in policy["img-src"]
    assert policy["object-src"] == ["'none'"]


@pytest.mark.django_db
def test_the_api_docs_may_inject_styles_and_start_a_blob_worker_but_no_inline_script(client):
    policy = directives(client.get("/api/v1/docs/"))

    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["worker-src"] == ["blob:"]
    assert policy["script-src"] == ["'self'"]
