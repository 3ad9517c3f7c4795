"""Production settings refuse to start without their secrets and pass `check --deploy` clean."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "p" * 20 + "-production-secret-for-the-test-only-" + "q" * 20,
    "IDENTITY_HASH_KEY": "identity-key-for-the-deploy-check-0123",
    "ALLOWED_HOSTS": "compliance.example.cn",
    "SITE_URL": "https://compliance.example.cn",
    # check --deploy does not connect; these only need to be well-formed.
    "DATABASE_URL": "postgres://app@127.0.0.1:5432/compliance",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "IDENTITY_ENCRYPTION_KEYS": "k1:" + "A" * 43,
    "IDENTITY_ENCRYPTION_PRIMARY": "k1",
    "CREDIT_CONSORTIUM_KEY": "consortium-key-for-the-deploy-check-0123",
    "CREDIT_FEED_SIGNING_KEY": "B" * 43 + "=",
}


def manage(*args, env):
    # The developer's own environment must not leak in (a DATABASE_URL, say).
    ignored = {*GOOD_ENV, "CELERY_BROKER_URL", "DEBUG"}
    base = {k: v for k, v in os.environ.items() if k not in ignored}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_prints_no_warnings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=GOOD_ENV)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_fails_on_a_warning():
    # The gate above is only worth having if a warning fails it: HSTS switched off is one
    # (security.W004), and the command must exit non-zero for it, not just print it.
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", env={**GOOD_ENV, "SECURE_HSTS_SECONDS": "0"}
    )
    assert result.returncode != 0
    assert "security.W004" in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SECRET_KEY", None),
        ("SECRET_KEY", "too-short"),
        ("IDENTITY_HASH_KEY", None),
        ("ALLOWED_HOSTS", None),
        ("ALLOWED_HOSTS", "a,,b"),
        ("DATABASE_URL", None),
        ("DATABASE_URL", "mysql://x@y/z"),
        ("REDIS_URL", None),
        ("REDIS_URL", "redis://host:port/0"),
        ("IDENTITY_ENCRYPTION_KEYS", None),
        ("IDENTITY_ENCRYPTION_KEYS", "k1:short"),
        ("IDENTITY_ENCRYPTION_PRIMARY", "k2"),
        ("SITE_URL", None),
        ("SITE_URL", "http://compliance.example.cn"),
        ("CREDIT_CONSORTIUM_KEY", None),
        ("CREDIT_CONSORTIUM_KEY", "too-short"),
        ("CREDIT_FEED_SIGNING_KEY", None),
        ("CREDIT_FEED_SIGNING_KEY", "not base64 of 32 bytes"),
    ],
)
def test_production_refuses_to_start_naming_the_bad_variable(variable, value):
    env = dict(GOOD_ENV)
    if value is None:
        env.pop(variable)
    else:
        env[variable] = value
    result = manage("check", env=env)
    assert result.returncode != 0
    assert variable in result.stderr
