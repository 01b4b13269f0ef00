"""Vitrine settings. Everything that differs between machines comes from the environment.

- ``DATABASE_URL`` (postgres://user:pass@host:port/name) and ``REDIS_URL`` (redis://host:port/db) point
  at production servers; when unset, embedded servers under ``var/`` are started (vitrine.embedded).
- ``DJANGO_SECRET_KEY``: required in production mode (``VITRINE_HTTPS=1``: served to the public over
  HTTPS); a local key is generated in ``var/`` otherwise.
- ``DJANGO_DEBUG`` (off unless set), ``DJANGO_ALLOWED_HOSTS``, ``DJANGO_CSRF_TRUSTED_ORIGINS``,
  ``VITRINE_SERVE_MEDIA`` (serve uploads from Django: the demo has no front web server).
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VITRINE_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _local_secret_key() -> str:
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def database_from_url(url: str) -> dict:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": query.pop("host", [parts.hostname or ""])[0],
        "PORT": str(parts.port or ""),
        "OPTIONS": {key: values[0] for key, values in query.items()},
    }


# Production mode is VITRINE_HTTPS=1: the shop is served to the public over HTTPS (directly or behind a
# TLS-terminating proxy). It must bring its own key: one generated into a machine's var/ differs between
# web servers and is lost with the checkout, and with it every session and signed visitor cookie.
HTTPS = env_bool("VITRINE_HTTPS")
if HTTPS and not os.environ.get("DJANGO_SECRET_KEY"):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is not set. VITRINE_HTTPS=1 means production mode, which needs a secret key of "
        "its own, the same on every web server and worker: set DJANGO_SECRET_KEY to a long random string, "
        "e.g. the output of `python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
    )
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or _local_secret_key()
DEBUG = env_bool("DJANGO_DEBUG")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "http://127.0.0.1:8000,http://localhost:8000")

# --- services -------------------------------------------------------------------------------------

# Embedded servers are started here, and again by any process that finds one gone (vitrine.embedded).
EMBEDDED_POSTGRES = not os.environ.get("DATABASE_URL")
EMBEDDED_REDIS = not os.environ.get("REDIS_URL")

if EMBEDDED_POSTGRES:
    from vitrine.embedded import ensure_postgres

    _database = ensure_postgres(VAR_DIR)
else:
    _database = database_from_url(os.environ["DATABASE_URL"])
_database["CONN_MAX_AGE"] = int(os.environ.get("DATABASE_CONN_MAX_AGE", "60"))
_database["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _database}

REDIS_DB = int(os.environ.get("VITRINE_REDIS_DB", "0"))
_redis_pool_options = {}
if EMBEDDED_REDIS:
    from vitrine.embedded import SelfStartingRedisConnection, ensure_redis

    _socket = ensure_redis(VAR_DIR)
    REDIS_URL = f"unix://{_socket}?db={REDIS_DB}"
    CELERY_BROKER_URL = f"redis+socket://{_socket}?virtual_host={REDIS_DB}"
    _redis_pool_options = {"connection_class": SelfStartingRedisConnection}
else:
    REDIS_URL = os.environ["REDIS_URL"]
    CELERY_BROKER_URL = REDIS_URL

CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "vitrine",
        "OPTIONS": {
            # A Redis outage degrades to cache misses (and a logged error), never to a 500.
            "IGNORE_EXCEPTIONS": True,
            "SOCKET_CONNECT_TIMEOUT": 0.5,
            "SOCKET_TIMEOUT": 0.5,
            "CONNECTION_POOL_KWARGS": _redis_pool_options,
        },
    }
}
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
DJANGO_REDIS_LOGGER = "vitrine.cache"  # one line per 10 s during an outage (LOGGING below)
# Sessions read from Redis and survive a Redis restart (a login must not vanish with the cache).
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Celery ---------------------------------------------------------------------------------------

CELERY_RESULT_BACKEND = CELERY_BROKER_URL
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ACKS_LATE = True  # a killed worker's task is redelivered; tasks are idempotent
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_EXPIRES = 3600
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # How long a task a worker took stays invisible to the others: the tasks of a worker lost with them in
    # hand (SIGKILL, a lost machine) are redelivered this long after it took them. Above the longest task,
    # which would otherwise run twice: docs/operations.md, "Scale-out topology".
    "visibility_timeout": int(os.environ.get("VITRINE_CELERY_VISIBILITY_TIMEOUT", "3600")),
    # Workers look for such tasks every 10 s (kombu's interval), not every tenth time (its default throttle).
    "unacked_restore_throttle": 1,
}
# A worker outlives any Redis outage: it reconnects until Redis is back instead of giving up after 100.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ROUTES = {
    # Per-customer refreshes a shopper is waiting for: must finish in seconds, never behind training.
    "ai.recommendations.tasks.refresh_*": {"queue": "realtime"},
    # Training, bulk re-embedding, demand signals: minutes of CPU, on their own queue.
    "ai.recommendations.tasks.train_*": {"queue": "batch"},
    "ai.recommendations.tasks.compute_*": {"queue": "batch"},
    "ai.search.tasks.reembed_*": {"queue": "batch"},
    "ai.search.tasks.refresh_*": {"queue": "batch"},
    "ai.pricing.tasks.*": {"queue": "batch"},
    "ai.experiments.tasks.*": {"queue": "batch"},
    "commerce.events.tasks.*": {"queue": "default"},
}
CELERY_BEAT_SCHEDULE = {
    "drain-events": {"task": "commerce.events.tasks.drain_events", "schedule": 2.0},
    "heartbeat": {"task": "vitrine.heartbeat", "schedule": 30.0},
    "reembed-missing-products": {"task": "ai.search.tasks.reembed_missing_products", "schedule": 60.0},
    "refresh-search-statistics": {"task": "ai.search.tasks.refresh_search_statistics", "schedule": 600.0},
    # Curated search lists pages found missing (a re-index retires them all): filled within seconds.
    "refresh-wanted-curated-results": {"task": "ai.search.tasks.refresh_wanted_curated_results", "schedule": 5.0},
    "train-recommendations": {"task": "ai.recommendations.tasks.train_recommendations",
                              "schedule": crontab(minute=5, hour="*/4")},
    "compute-product-neighbours": {"task": "ai.recommendations.tasks.compute_product_neighbours",
                                   "schedule": 300.0},
    "maintain-event-partitions": {"task": "commerce.events.tasks.maintain_event_partitions",
                                  "schedule": crontab(hour=3, minute=17)},
    # Demand signals + prices at :00 and :30 (the slots the engine computes for).
    "refresh-prices": {"task": "ai.pricing.tasks.refresh_prices", "schedule": crontab(minute="0,30")},
    "train-demand-model": {"task": "ai.pricing.tasks.train_demand_model", "schedule": crontab(hour=2, minute=41)},
    # Always-valid tests may be looked at this often without more false alarms.
    "enforce-experiment-guardrails": {"task": "ai.experiments.tasks.enforce_guardrails", "schedule": 900.0},
}
CELERY_TIMEZONE = "UTC"

# --- Django / Wagtail -----------------------------------------------------------------------------

INSTALLED_APPS = [
    "commerce.catalogue",
    "commerce.customers",
    "commerce.orders",
    "commerce.events",
    "ai.search",
    "ai.recommendations",
    "ai.pricing",
    "ai.dashboard",
    "ai.experiments",
    "home",
    "blocks",
    "demo",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.routable_page",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_filters",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # ReDoc's bundle as a static file: /api/v1/docs/ needs no CDN
    "csp",
    "axes",
    "django_countries",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",
]

MIDDLEWARE = [
    "vitrine.middleware.ServerTimingMiddleware",  # first: times all of Django's handling
    "django.middleware.security.SecurityMiddleware",
    "vitrine.middleware.ContentSecurityPolicyMiddleware",
    "vitrine.middleware.RejectNulInUrlMiddleware",  # before anything reads the URL into a query
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "commerce.customers.middleware.VisitorMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
    "home.middleware.CachedSiteMiddleware",  # the site of a page Wagtail serves, without Wagtail's query
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: turns a lockout into its page
]

ROOT_URLCONF = "vitrine.urls"
WSGI_APPLICATION = "vitrine.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "commerce.orders.context_processors.cart_summary",
                "commerce.catalogue.context_processors.navigation",
                "commerce.catalogue.context_processors.price_list",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out account or address before any password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "account:login"
LOGIN_REDIRECT_URL = "account:overview"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("VITRINE_MEDIA_ROOT", VAR_DIR / "media"))
SERVE_MEDIA = env_bool("VITRINE_SERVE_MEDIA", DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True  # tests and `runserver` serve static without collectstatic

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

WAGTAIL_SITE_NAME = "Vitrine"
WAGTAILADMIN_BASE_URL = os.environ.get("WAGTAILADMIN_BASE_URL", "http://127.0.0.1:8000")
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILDOCS_EXTENSIONS = ["csv", "pdf", "txt", "xlsx", "zip"]
WAGTAIL_I18N_ENABLED = False
# The admin fetches nothing from other hosts (its Content-Security-Policy would refuse it): no Gravatar
# avatars, no check for new Wagtail releases.
WAGTAIL_GRAVATAR_PROVIDER_URL = None
WAGTAIL_ENABLE_UPDATE_CHECK = False

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 24,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Vitrine API",
    "DESCRIPTION": "The shop's JSON API. Money is a decimal string (`\"12.50\"`) in the product's currency. "
                   "A refused request answers `{\"detail\": reason}`; an invalid one (400) each invalid "
                   "field's messages.",
    "VERSION": "1.0.0",
    "PREPROCESSING_HOOKS": ["core.schema.public_api_only"],
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "core.schema.empty_query_parameters_count_as_absent"],
    "SERVE_INCLUDE_SCHEMA": False,  # the schema documents the API, not itself
    # The beacon's CSRF check (commerce.events.api): the csrftoken cookie a page sets, echoed in a header.
    "APPEND_COMPONENTS": {"securitySchemes": {
        "csrfCookie": {"type": "apiKey", "in": "cookie", "name": "csrftoken"},
        "csrfHeader": {"type": "apiKey", "in": "header", "name": "X-CSRFToken"},
    }},
    "REDOC_DIST": "SIDECAR",  # from drf_spectacular_sidecar's static files, not a CDN (offline demo)
}

# --- shop -----------------------------------------------------------------------------------------

VITRINE_CURRENCY = os.environ.get("VITRINE_CURRENCY", "GBP")
# ISO 3166 code of the shop's own country: what checkout's country select starts at.
VITRINE_COUNTRY = os.environ.get("VITRINE_COUNTRY", "GB")
VITRINE_PRODUCTS_PER_PAGE = 24
# A price reduction is shown only against the lowest price of at least this many days before it (EU
# Omnibus directive, Art. 6a of 98/6/EC: never fewer than 30), per market (VITRINE_COUNTRY), "default" else.
VITRINE_PRIOR_PRICE_DAYS = {"default": 30}
# Shown next to every price that depends on the shopper (a pricing experiment's variant): the New York
# Algorithmic Pricing Disclosure Act's required wording; an EU shop may prefer e.g. "This price was
# personalised for you by automated decision-making." (Consumer Rights Directive Art. 6(1)(ea)).
VITRINE_PERSONALISED_PRICE_DISCLOSURE = os.environ.get(
    "VITRINE_PERSONALISED_PRICE_DISCLOSURE", "THIS PRICE WAS SET BY AN ALGORITHM USING YOUR PERSONAL DATA")
# Search ranks sold-out products after in-stock ones (docs/search.md); False keeps relevance order alone.
VITRINE_SEARCH_SOLD_OUT_LAST = env_bool("VITRINE_SEARCH_SOLD_OUT_LAST", True)
# How much each behaviour says about interest; returns subtract. Read by aggregations and training.
VITRINE_EVENT_WEIGHTS = {"view": 1.0, "add_to_cart": 4.0, "purchase": 10.0, "return": -10.0}
VITRINE_EVENT_RETENTION_MONTHS = int(os.environ.get("VITRINE_EVENT_RETENTION_MONTHS", "24"))
# Beat's drain tasks running at once (docs/operations.md, "Several drainers"); more add drain throughput
# where cores are free.
VITRINE_EVENT_DRAINERS = int(os.environ.get("VITRINE_EVENT_DRAINERS", "2"))
VITRINE_EVENT_BEACON_RATE = os.environ.get("VITRINE_EVENT_BEACON_RATE", "240/min")
# All visitors of one client address together (many shoppers can share one): higher than per visitor.
VITRINE_EVENT_BEACON_RATE_PER_ADDRESS = os.environ.get("VITRINE_EVENT_BEACON_RATE_PER_ADDRESS", "600/min")
# Answers the shop asks of A/B experiments (price list, order tags): commerce.customers.experiments.
VITRINE_SHOPPER_EXPERIMENTS = "ai.experiments.storefront"
# Recommender hyper-parameters and event weights overriding ai.recommendations.config.RecommenderSettings
# (e.g. {"factors": 16, "regularization": 10.0}); empty: the defaults tuned in docs/recommendations.md.
VITRINE_RECOMMENDATIONS: dict = {}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {
        "first_per_10_s": {"()": "vitrine.log.FirstPerInterval", "seconds": 10},
        "beat_errors_first_per_10_s": {"()": "vitrine.log.FirstPerInterval", "seconds": 10, "level": "ERROR"},
        # The 2-second event drain and the 5-second curated-list fill: Celery's sent/received/succeeded lines
        # only for runs that did something (moved events, computed lists).
        "quiet_polling": {"()": "vitrine.log.QuietPollingTasks", "tasks": [
            "commerce.events.tasks.drain_events", "ai.search.tasks.refresh_wanted_curated_results"]},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("VITRINE_LOG_LEVEL", "INFO")},
    "loggers": {
        "embedded_postgres": {"level": "WARNING"},
        # While the broker is down beat fails every 2 s with the same traceback: one line per 10 s.
        # (quiet_polling first: it matches Celery's messages before FirstPerInterval rewrites them.)
        "celery.beat": {"filters": ["quiet_polling", "beat_errors_first_per_10_s"]},
        "celery.worker.strategy": {"filters": ["quiet_polling"]},
        "celery.app.trace": {"filters": ["quiet_polling"]},
        "django_tasks": {"level": "WARNING"},
        "django.db.backends": {"level": "WARNING"},
        # Its "Loading SentenceTransformer model from …" lands in the middle of embed_products' progress bar.
        "sentence_transformers": {"level": "WARNING"},
        "vitrine.cache": {"filters": ["first_per_10_s"]},
    },
}

# --- security (docs/operations.md#security-settings) -----------------------------------------------

# Content-Security-Policy (django-csp). The shop runs on its own static files: scripts from this site plus
# base.html's one inline line, which carries the request's nonce; no inline styles or event handlers.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        # Wagtail's preview frames shop pages in the editor (rendered through this middleware at their own path).
        "frame-ancestors": [SELF],
        "upgrade-insecure-requests": HTTPS,
    }
}
# Pages that cannot run under the shop's policy: these directives replace the shop's under each path
# prefix (vitrine.middleware.ContentSecurityPolicyMiddleware). Wagtail's admin (and Django's) still writes
# inline scripts and styles (InlinePanel, date pickers, style attributes) and previews uploads as blob:
# images; ReDoc injects its styles and searches in a blob: worker (its credit logo from cdn.redoc.ly stays
# blocked: nothing is fetched from another host). No nonce in these: a nonce switches 'unsafe-inline' off.
_ADMIN_CSP = {"script-src": [SELF, UNSAFE_INLINE], "style-src": [SELF, UNSAFE_INLINE],
              "img-src": [SELF, "data:", "blob:"]}
CONTENT_SECURITY_POLICY_PATHS = {
    "/admin/": _ADMIN_CSP,
    "/django-admin/": _ADMIN_CSP,
    "/api/v1/docs/": {"style-src": [SELF, UNSAFE_INLINE], "worker-src": ["blob:"]},
}

# Production mode (VITRINE_HTTPS=1): cookies only over TLS, plain HTTP redirected (but for the load
# balancer's health check), and HSTS: browsers come back over HTTPS only, for VITRINE_HSTS_SECONDS (a
# year by default; shorten it while trying HTTPS out, a browser remembers it that long).
if HTTPS:
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = int(os.environ.get("VITRINE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("VITRINE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("VITRINE_HSTS_PRELOAD", True)

# Reverse proxies in front of Django (load balancer, TLS terminator): how many. Each appends the address it
# was reached from to X-Forwarded-For (core.security reads it); the outermost sets X-Forwarded-Proto.
# With none, both headers are ignored: a client can write them itself.
PROXY_COUNT = int(os.environ.get("VITRINE_PROXY_COUNT", "0"))
if PROXY_COUNT:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Login throttling (django-axes), the shop's and the Wagtail admin's: after VITRINE_LOGIN_FAILURE_LIMIT
# wrong passwords for one account, or from one address, further attempts are refused (even the right
# password) for VITRINE_LOGIN_COOLOFF_MINUTES after the last one. Attempts are rows in the database.
AXES_FAILURE_LIMIT = int(os.environ.get("VITRINE_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("VITRINE_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "core.security.client_ip_address"
AXES_LOCKOUT_CALLABLE = "commerce.customers.views.login_locked_out"
AXES_DISABLE_ACCESS_LOG = True  # lockout needs the failures only, not a row per successful login
AXES_VERBOSE = False  # no banner from every process; failures and lockouts are still logged
