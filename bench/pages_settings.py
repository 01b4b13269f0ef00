"""Settings of the processes ``bench/pages.py`` starts (its setup subprocess and its gunicorn): the
project's settings, pointed by the environment at the bench's scratch database (``DATABASE_URL``) and
its own Redis (``REDIS_URL``, a unix socket), plus a bench-only URL (``bench.pages_urls``)."""

from urllib.parse import urlsplit

from vitrine.settings import *  # noqa: F403
from vitrine.settings import REDIS_URL

ROOT_URLCONF = "bench.pages_urls"

if REDIS_URL.startswith("unix://"):  # kombu spells a unix-socket Redis redis+socket://
    CELERY_BROKER_URL = CELERY_RESULT_BACKEND = f"redis+socket://{urlsplit(REDIS_URL).path}"
