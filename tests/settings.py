"""Test settings: the same real PostgreSQL and Redis servers, on a test database and a Redis database
of their own (pytest-django creates ``test_vitrine``; Redis db 15 is flushed around every test)."""

import os

os.environ.setdefault("VITRINE_REDIS_DB", "15")

from vitrine.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # hashing speed is not under test
# django-axes wants the request in authenticate(); the test client's login() and a bare authenticate() have
# none. The tests of login throttling turn it on (tests/commerce/test_login_lockout.py).
AXES_ENABLED = False
WAGTAILADMIN_BASE_URL = "http://testserver"
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
MEDIA_ROOT = VAR_DIR / "test-media"  # noqa: F405
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405  (WhiteNoise warns on a missing root)
# Concurrent suites on one machine (e.g. two checkouts) pick their own test database and Redis db:
# VITRINE_TEST_DB_SUFFIX=b VITRINE_REDIS_DB=14 pytest
DATABASES["default"]["TEST"] = {"NAME": "test_vitrine" + os.environ.get("VITRINE_TEST_DB_SUFFIX", "")}  # noqa: F405
