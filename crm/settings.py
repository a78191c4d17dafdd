"""Settings for the CRM, driven by environment variables.

One module serves development, tests and production; production differs only by its environment
(``CRM_ENV=production``). Every variable is listed in the README's settings table.
"""

import json
import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}.")


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


CRM_ENV = os.environ.get("CRM_ENV") or "development"
if CRM_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"CRM_ENV must be 'development' or 'production', not {CRM_ENV!r}.")
PRODUCTION = CRM_ENV == "production"

DEBUG = env_bool("DEBUG", default=not PRODUCTION)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set in production.")
    SECRET_KEY = "development-only-insecure-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "django_otp",
    "django_otp.plugins.otp_totp",
    # Ours, in dependency order: each app imports only from those above it.
    "crm",
    "customers",
    "extranet",
    "campaigns",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "crm.two_factor.StaffSecondFactorMiddleware",
    "crm.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"
AUTH_USER_MODEL = "crm.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
# A SQLite file by default, so that `make demo` runs anywhere; PostgreSQL in CI and production.
# Connections live for DATABASE_CONN_MAX_AGE seconds. Health checks (DATABASE_CONN_HEALTH_CHECKS=1) cost
# a `SELECT 1` round trip at the start of every request; without them, as Django's default, a connection
# that broke since the last request (the database restarted) fails that one request and is then replaced.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=env_bool("DATABASE_CONN_HEALTH_CHECKS", default=False),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Statements run through crm.db.prepared_cursor (the hot path) are prepared on a connection once they
    # have run this many times; empty turns preparing off (a pooler that cannot keep them).
    _threshold = os.environ.get("DATABASE_PREPARE_THRESHOLD", "5")
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
        int(_threshold) if _threshold else None
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for a lock rather than fail at once, and let readers run beside the single writer.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication -------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # ModelBackend with a user's and their groups' permissions in one query (crm/auth.py).
    "crm.auth.ModelBackendOneQuery",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
GUARDIAN_RAISE_403 = False
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row; anonymous users have no object grants.

# --- Internationalisation -------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ko", _("Korean"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Seoul")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
MEDIA_URL = "media/"

# --- REST API -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "crm.api.authentication.TokenWithPermissionsAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.DjangoModelPermissions"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "crm.api.pagination.IdCursorPagination",
    "EXCEPTION_HANDLER": "crm.api.exceptions.api_exception_handler",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "crm.api.throttling.AnonRateThrottle",
        "crm.api.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("API_THROTTLE_ANON", "60/min"),
        "user": os.environ.get("API_THROTTLE_USER", "6000/min"),
        "events": os.environ.get("API_THROTTLE_EVENTS", "6000/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CRM API",
    "DESCRIPTION": "The integration contract: customers, events, timelines, segments and the supplier extranet.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from the project's own static files, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "status"; each choice set gets a name of its own.
    "ENUM_NAME_OVERRIDES": {
        "ImportStatusEnum": "customers.models.ImportJob.Status",
        "ImportKindEnum": "customers.models.ImportJob.Kind",
        "SegmentKindEnum": "campaigns.models.Segment.Kind",
        "ProposedOrderStatusEnum": "extranet.models.orders.ProposedOrder.Status",
        "InteractionChannelEnum": "customers.models.Interaction.Channel",
        "ConsentChannelEnum": "customers.models.ConsentChannel",
    },
}

# --- Analytics ------------------------------------------------------------------------------------
# Customer analytics (lifetime value, spend) are kept in one base currency; amounts in other currencies
# are converted at these rates (units of the base currency per unit), overridable as JSON.
CRM_BASE_CURRENCY = os.environ.get("CRM_BASE_CURRENCY", "KRW")
CRM_EXCHANGE_RATES: dict[str, float] = json.loads(
    os.environ.get("CRM_EXCHANGE_RATES")
    or '{"KRW": 1, "USD": 1400, "EUR": 1500, "JPY": 9.5, "CNY": 195, "GBP": 1750}'
)

# --- CSV imports ----------------------------------------------------------------------------------
# The largest file accepted, in bytes; rows per chunk (one transaction and checkpoint each); minutes
# without progress after which a queued or running import is enqueued again.
CRM_IMPORT_MAX_BYTES = int(os.environ.get("CRM_IMPORT_MAX_BYTES") or 200 * 1024 * 1024)
CRM_IMPORT_CHUNK_ROWS = int(os.environ.get("CRM_IMPORT_CHUNK_ROWS") or 10000)
CRM_IMPORT_STALE_MINUTES = int(os.environ.get("CRM_IMPORT_STALE_MINUTES") or 5)

# --- Privacy --------------------------------------------------------------------------------------
# The key of the access log's hash chain (HMAC): without it, a person who can write to the database
# cannot forge a chain that verifies. Derived from SECRET_KEY unless set; changing it breaks verification
# of earlier records, so set it once in production.
CRM_ACCESS_LOG_KEY = os.environ.get("CRM_ACCESS_LOG_KEY") or f"access-log:{SECRET_KEY}"
# Access records are kept this many days (Korea's PIPA: at least two years above 50,000 data subjects).
CRM_ACCESS_LOG_RETENTION_DAYS = int(os.environ.get("CRM_ACCESS_LOG_RETENTION_DAYS") or 730)
# Customers without any activity for this many years are anonymised; 0 turns the policy off.
CRM_RETENTION_INACTIVE_YEARS = int(os.environ.get("CRM_RETENTION_INACTIVE_YEARS") or 0)
# The monthly review: office hours (local time, weekdays) and what counts as well above a user's usual.
CRM_OFFICE_HOURS = tuple(int(h) for h in (os.environ.get("CRM_OFFICE_HOURS") or "8-20").split("-"))
CRM_REVIEW_SPIKE_FACTOR = float(os.environ.get("CRM_REVIEW_SPIKE_FACTOR") or 3)
CRM_REVIEW_SPIKE_MIN = int(os.environ.get("CRM_REVIEW_SPIKE_MIN") or 100)

# --- Cache ----------------------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "crm.cache.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- Celery ---------------------------------------------------------------------------------------
# Without a broker URL, tasks run inline in the web process (the embedded demo). With Redis, the
# reliability settings of DESIGN.md apply: late acknowledgement, requeue on worker loss, no prefetch
# hoarding, a visibility timeout longer than the longest task, time limits and bounded retries.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = int(os.environ.get("CELERY_TASK_TIME_LIMIT", "3600"))
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 60
# How long Redis waits for the acknowledgement of a task a worker took before giving it to another worker:
# longer than the longest task. Tests that kill workers shorten it.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT") or CELERY_TASK_TIME_LIMIT + 600)
}
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    # Picks up outbox messages whose relay was never enqueued (the broker was down at commit).
    "outbox-relay": {"task": "crm.outbox_relay", "schedule": 10.0},
    # Recency-based analytics change with the calendar alone.
    "customer-analytics-daily": {
        "task": "customers.customer_analytics_refresh_all",
        "schedule": crontab(hour=3, minute=15),
    },
    # CSV imports whose task was lost or whose worker died go on from their checkpoint.
    "imports-resume-stale": {"task": "customers.imports_resume_stale", "schedule": 60.0},
    # Privacy: access records past their retention are purged (the chain stays verifiable), and customers
    # inactive for CRM_RETENTION_INACTIVE_YEARS are anonymised (a no-op while the policy is off).
    "access-log-seal": {"task": "customers.access_log_seal", "schedule": 5.0},
    "access-log-purge": {"task": "customers.access_log_purge", "schedule": crontab(hour=2, minute=30)},
    "retention-run": {"task": "customers.retention_run", "schedule": crontab(hour=2, minute=45)},
    # Dynamic segments: windows and ages move with the calendar; after the analytics recompute.
    "segments-refresh-daily": {
        "task": "campaigns.segments_refresh_all",
        "schedule": crontab(hour=4, minute=0),
    },
    # New purchase lines folded into the supplier dashboards' daily rollups.
    "extranet-sales-rollup": {"task": "extranet.sales_rollup_fold", "schedule": 30.0},
}

# --- Sign-in security (crm.security, crm.two_factor) --------------------------------------------------
# Failed sign-ins of one username from one address before a lockout, and how long it lasts; one counter
# for the staff login, the admin's and the extranet's. (The EXTRANET_ names are read for older setups.)
LOGIN_MAX_FAILURES = int(
    os.environ.get("LOGIN_MAX_FAILURES") or os.environ.get("EXTRANET_LOGIN_MAX_FAILURES") or 5
)
LOGIN_LOCKOUT_MINUTES = int(
    os.environ.get("LOGIN_LOCKOUT_MINUTES") or os.environ.get("EXTRANET_LOGIN_LOCKOUT_MINUTES") or 15
)
# Staff must sign in with a second factor (TOTP) when on: without a device they are sent to set one up
# before any staff page or the admin opens. Any user who set one up must use it, whatever this says.
STAFF_TWO_FACTOR_REQUIRED = env_bool("STAFF_TWO_FACTOR_REQUIRED", default=False)
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER") or "CRM"

# --- Supplier extranet ---------------------------------------------------------------------------
# How long the newest purchase line id must have been seen before the rollup folds up to it (a line with
# a smaller id may still be in an uncommitted transaction until then).
EXTRANET_ROLLUP_LAG_SECONDS = int(os.environ.get("EXTRANET_ROLLUP_LAG_SECONDS") or 30)
# Supplier admins must sign in with a second factor (TOTP) when on; any user who set one up must use it.
EXTRANET_TWO_FACTOR_FOR_ADMINS = env_bool("EXTRANET_TWO_FACTOR_FOR_ADMINS", default=False)
# Days an invitation link to the extranet works (once).
EXTRANET_INVITATION_DAYS = int(os.environ.get("EXTRANET_INVITATION_DAYS") or 7)

# --- Email ----------------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "crm@localhost")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)

# --- Sessions -------------------------------------------------------------------------------------
# With Redis, sessions are read from the cache and written through to the database: every staff request
# (and the customer page's poll every second) reads its session without a database query. Without Redis
# (the embedded demo, one process) they stay in the database: a per-process cache would let a session
# ended in one worker live on in another. A removed user's sessions still end at once either way: the
# user is read from the database on every request and an inactive one is refused.
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db" if REDIS_URL else "django.contrib.sessions.backends.db"
)

# --- Security -------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # HTMX reads the token from the cookie-free meta tag; the cookie stays readable.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- Logging --------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
