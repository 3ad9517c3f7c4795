"""The Celery worker the reliability tests start and kill: the product's own worker and tasks, with
a few timers shortened so that a test waits seconds where production waits minutes, and its mail
kept where the test can count it.

    python -m tests.reliability.worker worker -Q default,money,notify ...

`RELIABILITY_REFERRAL_LEASE_SECONDS` replaces the referral claim's lease (180 s): how long a
referral whose worker was killed mid-attempt waits before the relay may send it again.
`RELIABILITY_BACKOFF_SECONDS` replaces the exponential backoff between a referral's attempts
(10 s doubling). `RELIABILITY_WEBHOOK_LEASE_SECONDS` and `RELIABILITY_WEBHOOK_BACKOFF_SECONDS` do
the same for webhook deliveries (120 s; 10 s doubling). None of them changes what happens, only
when.

`RELIABILITY_MAIL_DIR` makes the worker write every e-mail it sends to a file in that directory
(Django's file backend) instead of keeping it in its own memory, where the test cannot see it.
"""

import os
import sys

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    django.setup()
    from accounts import webhooks
    from enforcement.services import referrals

    if lease := os.environ.get("RELIABILITY_REFERRAL_LEASE_SECONDS"):
        referrals.LEASE_SECONDS = int(lease)
    if backoff := os.environ.get("RELIABILITY_BACKOFF_SECONDS"):
        seconds = float(backoff)
        referrals.backoff_seconds = lambda attempts: seconds
    if lease := os.environ.get("RELIABILITY_WEBHOOK_LEASE_SECONDS"):
        webhooks.LEASE_SECONDS = int(lease)
    if backoff := os.environ.get("RELIABILITY_WEBHOOK_BACKOFF_SECONDS"):
        webhook_seconds = float(backoff)
        webhooks.backoff_seconds = lambda attempts: webhook_seconds
    if mail_dir := os.environ.get("RELIABILITY_MAIL_DIR"):
        from django.conf import settings

        settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
        settings.EMAIL_FILE_PATH = mail_dir

    from config.celery import app

    app.worker_main(sys.argv[1:])


if __name__ == "__main__":
    main()
