"""Settings shared by every environment; safe defaults for a developer's machine.

`production.py` tightens these and refuses to start without its secrets; `test.py` speeds them up.
Everything an operator may change is read from the environment through `config.env`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from accounts.crypto import parse_keyring
from config.env import env_bool, env_int, env_list, env_secret, env_str, env_times, env_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
# A fixed key is acceptable only for a developer's machine; production.py requires its own.
SECRET_KEY = env_secret("SECRET_KEY", "local-only-insecure-key-" + "x" * 40, min_length=32)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Keyed hash for identity look-ups (ID numbers, credit codes). A bare SHA-256 of an 18-digit ID
# number is brute-forced in minutes, so the key matters as much as the hash (RULES.md §8).
IDENTITY_HASH_KEY = env_secret(
    "IDENTITY_HASH_KEY", "local-only-identity-hash-key-0000000000", min_length=32
)

# The product, in layer order: imports point down this list, never up.
PRODUCT_APPS = [
    "accounts",
    "merchants",
    "anchors",
    "credit",
    "liverooms",
    "complaints",
    "enforcement",
]

# AES-256-GCM keys for ID numbers at rest (accounts.crypto): "id:base64,id:base64"; the primary
# encrypts, every listed key decrypts, so a key is rotated by adding a new primary first.
_LOCAL_KEYRING = "local:bG9jYWwtb25seS1pZGVudGl0eS1rZXktMzItYnl0ZXM"
IDENTITY_ENCRYPTION_KEYS = parse_keyring(
    env_str("IDENTITY_ENCRYPTION_KEYS", _LOCAL_KEYRING), "IDENTITY_ENCRYPTION_KEYS"
)
IDENTITY_ENCRYPTION_PRIMARY = env_str("IDENTITY_ENCRYPTION_PRIMARY", "local")
if IDENTITY_ENCRYPTION_PRIMARY not in IDENTITY_ENCRYPTION_KEYS:
    raise ImproperlyConfigured(
        "IDENTITY_ENCRYPTION_PRIMARY must name one of the keys in IDENTITY_ENCRYPTION_KEYS."
    )

# Uploaded document images (accounts.uploads).
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
UPLOAD_MAX_PIXELS = env_int("UPLOAD_MAX_PIXELS", 40_000_000, minimum=10_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_BYTES + 1024 * 1024

INSTALLED_APPS = [
    # The admin site is ours (2FA, a workbench index), installed through its AppConfig.
    "accounts.apps.ComplianceAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    *PRODUCT_APPS,
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Sessions, login, the second factor, messages and the content security policy serve
    # browsers: these subclasses leave them out of the JSON API (config/middleware).
    "config.middleware.SessionMiddleware",
    # LocaleMiddleware, but Chinese unless the language switch says otherwise (config/middleware).
    "config.middleware.ChineseFirstLocaleMiddleware",
    # Before anything reads a body (CSRF reads the form): a body larger than the path's largest
    # legitimate upload is refused unread.
    "config.middleware.request_size_middleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "config.middleware.AuthenticationMiddleware",
    "config.middleware.OTPMiddleware",
    "config.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # django-csp's, with the policy built once rather than on every response.
    "config.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a lockout raised during authentication into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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

# --- Data stores -------------------------------------------------------------------------------
DATABASE_URL = env_url("DATABASE_URL", None, schemes=("postgres", "postgresql", "sqlite"))
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 60, minimum=0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"].endswith("postgresql") and env_bool(
        "DB_PREPARED_STATEMENTS", True
    ):
        # The go-live gate's statements are prepared once per connection and keep their generic
        # plans: planning them costs more than running them (liverooms/prepared.py). Django's
        # own queries bind on the client and are never prepared. Turn off behind a pooler that
        # cannot keep prepared statements (PgBouncer before 1.21 in transaction mode).
        DATABASES["default"]["OPTIONS"] = {
            **DATABASES["default"].get("OPTIONS", {}),
            "prepare_threshold": 5,
            "options": "-c plan_cache_mode=force_generic_plan",
        }
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            "OPTIONS": {
                # WAL lets the dev server and a worker read while the other writes; IMMEDIATE
                # takes the write lock at BEGIN so two writers queue instead of failing mid-way.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_url("REDIS_URL", None, schemes=("redis", "rediss", "unix"))
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "lcc",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery: one app (config/celery.py), queues default / money / notify -------------------------
CELERY_BROKER_URL = env_url(
    "CELERY_BROKER_URL", REDIS_URL, schemes=("redis", "rediss", "amqp", "amqps")
)
# Without a broker (a newcomer's first `make demo`) tasks run in-process at the point where they
# would have been queued -- which, because everything is queued with on_commit, is after commit.
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# State lives in the database, never in task results.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300, minimum=1)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240, minimum=1)
# Late acknowledgement: a message is acknowledged after its task returns, so a worker killed
# mid-task (SIGKILL, OOM, lost machine) leaves it to be delivered again. That guarantees
# at-least-once, not exactly-once: a task may run twice, so every task re-checks state and its
# effects are idempotent (unique keys, compare-and-set). reject_on_worker_lost re-queues instead of
# failing the message when the child process dies.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis re-delivers an unacknowledged message after the visibility timeout; it must exceed the
# longest task and the longest countdown we schedule, or healthy tasks are run twice for nothing.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 60 * 60}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- Authentication ---------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First, so that a locked-out account is refused before its password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

# Lockout: after AXES_FAILURE_LIMIT failures for the same account from the same address, that
# pair is locked for the cool-off. Keyed on the pair so that one mistyping colleague behind the
# office NAT does not lock everyone out; a distributed guess at one account still meets TOTP,
# whose devices throttle failed codes themselves.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False
# Behind a reverse proxy, the number of proxies whose X-Forwarded-For entries to trust.
AXES_IPWARE_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0) or None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if AXES_IPWARE_PROXY_COUNT else ["REMOTE_ADDR"]
)

OTP_TOTP_ISSUER = "直播电商合规"

SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 60 * 60, minimum=300)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True

# --- Internationalisation: Chinese first -----------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "config" / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True

# --- Static and uploaded files ---------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Project-wide assets (the public site's stylesheet); apps keep theirs in their own static/.
STATICFILES_DIRS = [BASE_DIR / "config" / "static"]
# Uploaded documents are private: never under STATIC_ROOT, never served by URL pattern.
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Security headers that hold everywhere (production.py adds the HTTPS ones) -----------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        # The admin and Swagger UI set style attributes from their scripts; scripts stay strict.
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Email (notifications to parties, consumers and authorities) ------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "compliance@localhost")
# For django.core.mail.backends.smtp.EmailBackend; the password only from the environment.
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20, minimum=1)

# --- REST API --------------------------------------------------------------------------------
_RATE = re.compile(r"^\d+/(s|sec|second|m|min|minute|h|hour|d|day)$")


def _rate(name: str, default: str) -> str:
    value = env_str(name, default)
    if not _RATE.match(value):
        raise ImproperlyConfigured(f"{name} must look like 100/minute; got {value!r}.")
    return value


REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.api.authentication.ApiKeyAuthentication"],
    # Deny by default: a view is reachable only by keys holding the scopes it declares.
    "DEFAULT_PERMISSION_CLASSES": ["accounts.api.permissions.HasScopes"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "config.api.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "config.api.pagination.CursorPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": [
        "config.api.throttling.ApiKeyRateThrottle",
        "config.api.throttling.AnonymousRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "api_key": _rate("API_RATE_PER_KEY", "60000/minute"),
        "anonymous": _rate("API_RATE_ANONYMOUS", "60/minute"),
        # The public credit directory, profiles and rules, pages and API alike, per address.
        "credit_public": _rate("API_RATE_CREDIT_PUBLIC", "120/minute"),
    },
    # DRF's anonymous throttle keys on the client address: without this it takes X-Forwarded-For
    # as sent, which any client can forge.
    "NUM_PROXIES": AXES_IPWARE_PROXY_COUNT or 0,
    "EXCEPTION_HANDLER": "config.api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "config.api.schema.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# How long a process trusts an API key it has looked up (accounts/api/authentication.py), and so
# how long a revoked key may still work in the processes that did not revoke it.
API_KEY_CACHE_SECONDS = env_int("API_KEY_CACHE_SECONDS", 5, minimum=0)

SPECTACULAR_SETTINGS = {
    "TITLE": "Live-commerce compliance API",
    "DESCRIPTION": (
        "For the platform's own systems: register parties, ask whether an anchor may go live, "
        "stream monitoring signals, forward complaints, receive enforcement events. "
        "Authenticate with `Authorization: Bearer <api key>`."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # Served from the sidecar package: no CDN, works offline and under our CSP.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Stable names for enums that several serializers share.
    "ENUM_NAME_OVERRIDES": {
        "PartyKindEnum": "accounts.models.PartyKind",
        "DocumentKindEnum": "accounts.models.DocumentKind",
        "LicenceKindEnum": "merchants.models.LicenceKind",
        "EntityTypeEnum": "merchants.models.EntityType",
        "AgencyEntityTypeEnum": [
            ("enterprise", "Enterprise"),
            ("individual_business", "Individual business"),
        ],
        "TopicEnum": "anchors.models.Topic",
        "RestrictionKindEnum": "accounts.models.RestrictionKind",
        "CategoryEnum": "merchants.models.Category",
        "FileStatusEnum": "accounts.models.FileStatus",
        "SessionStatusEnum": "liverooms.models.SessionStatus",
        "AlertStatusEnum": "liverooms.models.AlertStatus",
        "SignalKindEnum": "liverooms.models.SignalKind",
        "ListingStatusEnum": "merchants.models.ListingStatus",
        "CaseKindEnum": "complaints.models.CaseKind",
        "CaseStatusEnum": "complaints.models.CaseStatus",
        "CaseEventKindEnum": "complaints.models.CaseEvent.Kind",
        "ComplaintCategoryEnum": "complaints.models.ComplaintCategory",
    },
}

# --- Background monitoring (LCM Art. 13) --------------------------------------------------------
# How far a signal's stream time may run ahead of this server's clock, or before its session
# went live, before it is refused: the platform's clocks and ours are not one clock.
MONITORING_CLOCK_SKEW_SECONDS = env_int("MONITORING_CLOCK_SKEW_SECONDS", 60, minimum=0)

# --- Patrol (LCM Art. 13; NRTA 2020) -----------------------------------------------------------
# High-risk sessions are to be inspected within this many minutes of going live.
PATROL_HIGH_RISK_MINUTES = env_int("PATROL_HIGH_RISK_MINUTES", 30, minimum=1)
# Live rooms per reviewer the staffing guideline allows (at least 1:50).
PATROL_ROOMS_PER_REVIEWER = env_int("PATROL_ROOMS_PER_REVIEWER", 50, minimum=1)
# When the patrol's shifts begin, Beijing time ("HH:MM", comma-separated); each runs until the
# next one begins. The coverage report is drawn up per shift.
PATROL_SHIFT_STARTS = env_times("PATROL_SHIFT_STARTS", ["00:00", "08:00", "16:00"])
# How many days back the coverage report reaches (the shift picker's range).
PATROL_COVERAGE_DAYS = env_int("PATROL_COVERAGE_DAYS", 14, minimum=1)

# --- Compliance dashboard and transparency report (config/dashboard) ----------------------------
# The platform's name as printed at the head of the transparency report; empty prints a generic
# name. (CREDIT_PLATFORM_NAME is the machine name in the sharing feed, not this.)
PLATFORM_NAME = env_str("PLATFORM_NAME", "")

# --- Webhooks to the platform ------------------------------------------------------------------
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1)
# With backoff capped at an hour, 16 attempts span about a day before a delivery is given up.
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 16, minimum=1)

# --- Logging: to stdout; nothing personal is ever logged ---------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        # One line per task run drowns the demo's output when tasks run in-process; the worker
        # logs its own task lines (celery worker --loglevel).
        "celery.app.trace": {"level": env_str("TASK_LOG_LEVEL", "WARNING")},
    },
}

# --- Complaints (RULES.md §4) ------------------------------------------------------------------
# The platform's published resolution target in Chinese working days (LCM Art. 20 leaves it to
# the platform; the 12315 ODR model asks for 10).
COMPLAINT_RESOLUTION_WORKING_DAYS = env_int("COMPLAINT_RESOLUTION_WORKING_DAYS", 10, minimum=1)
# Days after a decision in which the consumer may confirm it; then the case closes by itself.
COMPLAINT_CONFIRMATION_DAYS = env_int("COMPLAINT_CONFIRMATION_DAYS", 15, minimum=1)
# Concentrated complaints (LCM Art. 11): this many complaints against a room's owner within 30
# days raise the room's risk grade.
COMPLAINT_CONCENTRATION_THRESHOLD = env_int("COMPLAINT_CONCENTRATION_THRESHOLD", 5, minimum=1)
# Anti-abuse on the public forms: filings per hour from one address and per day from one contact.
COMPLAINT_FILINGS_PER_ADDRESS_HOUR = env_int("COMPLAINT_FILINGS_PER_ADDRESS_HOUR", 10, minimum=1)
COMPLAINT_FILINGS_PER_CONTACT_DAY = env_int("COMPLAINT_FILINGS_PER_CONTACT_DAY", 5, minimum=1)
# The site's own address, for links in e-mails sent by the worker (no request to build them from).
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# Finer limits of the public forms (complaints/abuse.py): failed attempts and searches per address
# per hour, evaluations per address per hour and per order per day, and tracking-page actions and
# misses (wrong links) per address per hour and actions per case per day.
COMPLAINT_ATTEMPTS_PER_ADDRESS_HOUR = env_int(
    "COMPLAINT_ATTEMPTS_PER_ADDRESS_HOUR", 3 * COMPLAINT_FILINGS_PER_ADDRESS_HOUR, minimum=1
)
COMPLAINT_SEARCHES_PER_ADDRESS_HOUR = env_int("COMPLAINT_SEARCHES_PER_ADDRESS_HOUR", 120, minimum=1)
COMPLAINT_EVALUATIONS_PER_ADDRESS_HOUR = env_int(
    "COMPLAINT_EVALUATIONS_PER_ADDRESS_HOUR", COMPLAINT_FILINGS_PER_ADDRESS_HOUR, minimum=1
)
COMPLAINT_EVALUATIONS_PER_ORDER_DAY = env_int("COMPLAINT_EVALUATIONS_PER_ORDER_DAY", 3, minimum=1)
COMPLAINT_TRACKING_POSTS_PER_ADDRESS_HOUR = env_int(
    "COMPLAINT_TRACKING_POSTS_PER_ADDRESS_HOUR", 30, minimum=1
)
COMPLAINT_TRACKING_POSTS_PER_CASE_DAY = env_int(
    "COMPLAINT_TRACKING_POSTS_PER_CASE_DAY", 20, minimum=1
)
COMPLAINT_TRACKING_MISSES_PER_ADDRESS_HOUR = env_int(
    "COMPLAINT_TRACKING_MISSES_PER_ADDRESS_HOUR", 30, minimum=1
)

# --- Enforcement ------------------------------------------------------------------------------
# Appeals are open this many months after a measure is executed (DSA Art. 20: at least six).
ENFORCEMENT_APPEAL_WINDOW_MONTHS = env_int("ENFORCEMENT_APPEAL_WINDOW_MONTHS", 6, minimum=1)
# The policy's ceiling for one deposit deduction, whatever the catalogue says (fen; 500,000 yuan).
ENFORCEMENT_MAX_DEDUCTION_FEN = env_int("ENFORCEMENT_MAX_DEDUCTION_FEN", 50_000_000, minimum=1)
# Evidence files uploaded by reviewers (screenshots, replay clips, chat logs, documents).
ENFORCEMENT_EVIDENCE_MAX_BYTES = env_int(
    "ENFORCEMENT_EVIDENCE_MAX_BYTES", 50 * 1024 * 1024, minimum=1024
)
# A deduction still executing this long after it started is marked failed for a lead to look at
# (the relay re-queues a lost message after two minutes; one that runs this long keeps failing).
ENFORCEMENT_DEDUCTION_GIVE_UP_MINUTES = env_int(
    "ENFORCEMENT_DEDUCTION_GIVE_UP_MINUTES", 60, minimum=5
)
# Deliveries of referral dossiers to authorities' endpoints.
REFERRAL_TIMEOUT_SECONDS = env_int("REFERRAL_TIMEOUT_SECONDS", 30, minimum=1)
REFERRAL_MAX_ATTEMPTS = env_int("REFERRAL_MAX_ATTEMPTS", 20, minimum=1)
# The largest dossier sent by e-mail (mail servers commonly refuse more than 20-25 MB); a larger
# one for an authority reached by e-mail only fails at once, for a lead to deliver another way.
REFERRAL_EMAIL_MAX_BYTES = env_int("REFERRAL_EMAIL_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)

# --- Credit sharing ---------------------------------------------------------------------------
# Joint discipline across platforms (LCM Art. 14; credit/sharing.py explains the design).


def credit_feed_signing_key(variable: str, value: str) -> str:
    """An Ed25519 private key as base64 of its raw 32 bytes, checked at start-up; the error names
    the variable, never the value."""
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ImproperlyConfigured(
            f"{variable} must be base64 of exactly 32 bytes (a raw Ed25519 private key)."
        )
    return value.strip()


def credit_peer_api_keys(variable: str, value: str) -> dict[str, str]:
    """`{"peer name": "api key", ...}`: the keys other platforms issued us to read their feeds."""
    try:
        keys = json.loads(value or "{}")
    except ValueError:
        keys = None
    if not isinstance(keys, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in keys.items()
    ):
        raise ImproperlyConfigured(
            f'{variable} must be a JSON object of peer names and API keys: {{"name": "key"}}.'
        )
    return keys


# Our name in the consortium, sent with every page of our feed.
CREDIT_PLATFORM_NAME = env_str("CREDIT_PLATFORM_NAME", "local-platform")
# The key every platform of the consortium shares, so that the same ID number or credit code gives
# the same hash everywhere (HMAC-SHA256) while the ID numbers themselves never leave a platform.
# It is not IDENTITY_HASH_KEY, which is ours alone. The default, derived from SECRET_KEY, matches
# no real platform and is for a developer's machine only; production.py requires the real one.
CREDIT_CONSORTIUM_KEY = env_secret(
    "CREDIT_CONSORTIUM_KEY",
    hmac.new(SECRET_KEY.encode(), b"credit-consortium-key", hashlib.sha256).hexdigest(),
    min_length=32,
)
# Signs our feed (Ed25519); peers verify it with the public key at /api/v1/credit/feed/key/.
# Make one with: python -c "import base64, os; print(base64.b64encode(os.urandom(32)).decode())"
CREDIT_FEED_SIGNING_KEY = credit_feed_signing_key(
    "CREDIT_FEED_SIGNING_KEY",
    env_str(
        "CREDIT_FEED_SIGNING_KEY",
        base64.b64encode(
            hmac.new(SECRET_KEY.encode(), b"credit-feed-signing-key", hashlib.sha256).digest()
        ).decode(),
    ),
)
# The key we will sign with next, while peers learn it: each page of our feed announces its public
# key, signed with the current key; a peer's pull records it, and once CREDIT_FEED_SIGNING_KEY is
# set to it (and this emptied) the peers take our new signatures without anyone re-keying them.
_next_feed_key = env_str("CREDIT_FEED_NEXT_SIGNING_KEY", "")
CREDIT_FEED_NEXT_SIGNING_KEY = (
    credit_feed_signing_key("CREDIT_FEED_NEXT_SIGNING_KEY", _next_feed_key)
    if _next_feed_key.strip()
    else ""
)
CREDIT_PEER_API_KEYS = credit_peer_api_keys(
    "CREDIT_PEER_API_KEYS", env_str("CREDIT_PEER_API_KEYS", "{}")
)
CREDIT_PEER_TIMEOUT_SECONDS = env_int("CREDIT_PEER_TIMEOUT_SECONDS", 20, minimum=1)
# Pages of up to 500 entries read from one peer in one pull; the rest waits for the next pull.
CREDIT_PEER_MAX_PAGES = env_int("CREDIT_PEER_MAX_PAGES", 20, minimum=1)
# Peers' feeds are read over HTTPS only; plain HTTP to a loopback address is allowed when DEBUG
# is on or this is set (tests, a local demo of two platforms). production.py turns it off.
CREDIT_PEER_ALLOW_LOOPBACK_HTTP = env_bool("CREDIT_PEER_ALLOW_LOOPBACK_HTTP", False)
