"""Production: HTTPS only, secrets required, PostgreSQL and Redis required.

`python manage.py check --deploy` prints no warnings under these settings; a test keeps it so.
"""

from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from accounts.crypto import parse_keyring
from config.env import env_bool, env_int, env_list, env_secret, env_str

from .base import *  # noqa: F403
from .base import CELERY_BROKER_URL, DATABASE_URL, REDIS_URL, credit_feed_signing_key

DEBUG = False
SECRET_KEY = env_secret("SECRET_KEY", min_length=50)
IDENTITY_HASH_KEY = env_secret("IDENTITY_HASH_KEY", min_length=32)
IDENTITY_ENCRYPTION_KEYS = parse_keyring(
    env_str("IDENTITY_ENCRYPTION_KEYS"), "IDENTITY_ENCRYPTION_KEYS"
)
IDENTITY_ENCRYPTION_PRIMARY = env_str("IDENTITY_ENCRYPTION_PRIMARY")
if IDENTITY_ENCRYPTION_PRIMARY not in IDENTITY_ENCRYPTION_KEYS:
    raise ImproperlyConfigured(
        "IDENTITY_ENCRYPTION_PRIMARY must name one of the keys in IDENTITY_ENCRYPTION_KEYS."
    )
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must name at least one host in production.")
# Links in e-mails the worker sends (tracking links) are built from this, not from a request.
SITE_URL = env_str("SITE_URL").rstrip("/")
if not SITE_URL.startswith("https://"):
    raise ImproperlyConfigured("SITE_URL must be the site's https:// address in production.")
# Credit sharing (credit/sharing.py): the consortium's shared key and our own feed-signing key.
CREDIT_CONSORTIUM_KEY = env_secret("CREDIT_CONSORTIUM_KEY", min_length=32)
CREDIT_FEED_SIGNING_KEY = credit_feed_signing_key(
    "CREDIT_FEED_SIGNING_KEY", env_str("CREDIT_FEED_SIGNING_KEY")
)
CREDIT_PLATFORM_NAME = env_str("CREDIT_PLATFORM_NAME", urlsplit(SITE_URL).hostname or "")
CREDIT_PEER_ALLOW_LOOPBACK_HTTP = False
if not DATABASE_URL or DATABASE_URL.startswith("sqlite"):
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL in production.")
if not REDIS_URL or not CELERY_BROKER_URL:
    raise ImproperlyConfigured("REDIS_URL must be set in production (cache, broker, throttling).")

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
# The load balancer probes plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if env_bool("BEHIND_TLS_PROXY", True):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
LANGUAGE_COOKIE_SECURE = True
LANGUAGE_COOKIE_HTTPONLY = True

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
