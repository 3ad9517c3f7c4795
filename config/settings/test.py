"""Tests: fast hashing, mail kept in memory, tasks run in-process unless an integration test
brings a real worker (tests/integration sets CELERY_BROKER_URL and DATABASE_URL itself)."""

import os

from .base import *  # noqa: F403
from .base import CELERY_BROKER_URL

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
IDENTITY_HASH_KEY = "test-identity-hash-key-0123456789abcdef"
# Integration runs keep the real broker; everything else runs tasks eagerly.
CELERY_TASK_ALWAYS_EAGER = os.environ.get("LCC_INTEGRATION") != "1" or CELERY_BROKER_URL is None
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if os.environ.get("LCC_INTEGRATION") == "1":
    from .base import CACHES as _REAL_CACHES

    CACHES = _REAL_CACHES
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
# Static files come from the apps' folders through the finders; no collectstatic before tests.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
