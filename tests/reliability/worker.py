"""The Celery worker the reliability tests start and kill: the product's own worker and tasks, with
two timers shortened so that a test waits seconds where production waits minutes.

    python -m tests.reliability.worker worker -Q default,money,notify ...

`RELIABILITY_REFERRAL_LEASE_SECONDS` replaces the referral claim's lease (180 s): how long a
referral whose worker was killed mid-attempt waits before the relay may send it again.
`RELIABILITY_BACKOFF_SECONDS` replaces the exponential backoff between a referral's attempts
(10 s doubling). Neither changes what happens, only when.
"""

import os
import sys

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    django.setup()
    from enforcement.services import referrals

    if lease := os.environ.get("RELIABILITY_REFERRAL_LEASE_SECONDS"):
        referrals.LEASE_SECONDS = int(lease)
    if backoff := os.environ.get("RELIABILITY_BACKOFF_SECONDS"):
        seconds = float(backoff)
        referrals.backoff_seconds = lambda attempts: seconds

    from config.celery import app

    app.worker_main(sys.argv[1:])


if __name__ == "__main__":
    main()
