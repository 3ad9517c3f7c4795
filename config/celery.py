"""The Celery app, its queues and the one beat schedule of the product."""

import os

from celery import Celery
from celery.schedules import crontab
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("livecommerce")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (
    Queue("default"),
    Queue("money"),  # the deposit ledger: deductions, refunds, compensation
    Queue("notify"),  # webhooks, email, deliveries to authorities
)
# Which queue each task runs on, by its stable name; unlisted tasks run on `default`.
app.conf.task_routes = {
    "accounts.deliver_webhook": {"queue": "notify"},
    "accounts.relay_webhooks": {"queue": "notify"},
    "accounts.reverification_sweep": {"queue": "default"},
    "liverooms.rooms_regrade": {"queue": "default"},
    "liverooms.end_barred_sessions": {"queue": "default"},
    "complaints.notify_consumer": {"queue": "notify"},
    "complaints.notify_leads": {"queue": "notify"},
    "complaints.escalate_overdue": {"queue": "default"},
    "complaints.close_unconfirmed": {"queue": "default"},
    "complaints.end_expired_mediations": {"queue": "default"},
    "complaints.relay_notices": {"queue": "notify"},
    "enforcement.execute_deduction": {"queue": "money"},
    "enforcement.execute_refund": {"queue": "money"},
    "enforcement.relay_money": {"queue": "money"},
    "enforcement.reconcile_ledger": {"queue": "money"},
    "enforcement.deliver_referral": {"queue": "notify"},
    "enforcement.relay_referrals": {"queue": "notify"},
    "enforcement.send_statement": {"queue": "notify"},
    "enforcement.relay_statements": {"queue": "notify"},
    "enforcement.notify": {"queue": "notify"},
    "enforcement.relay_notifications": {"queue": "notify"},
    "enforcement.lift_expired": {"queue": "default"},
    "enforcement.escalate_notices": {"queue": "default"},
    "credit.update_score": {"queue": "default"},
    "credit.recompute_all": {"queue": "default"},
    "credit.repair_sweep": {"queue": "default"},
    # Credit sharing (credit/sharing_tasks.py): pulls are network calls to other platforms.
    "credit.pull_peers": {"queue": "notify"},
    "credit.pull_peer": {"queue": "notify"},
    "credit.backfill_consortium_identities": {"queue": "default"},
    "credit.complete_feed_entries": {"queue": "default"},
    "dashboard.transparency_report": {"queue": "default"},
}
app.autodiscover_tasks()
# Credit sharing's tasks live beside credit's own, in a module autodiscovery does not look for.
app.conf.imports = ("credit.sharing_tasks",)
# The dashboard is not an app (config/dashboard reads every app); its tasks are named here.
app.autodiscover_tasks(["config.dashboard"])

# Every periodic job of the product, in one place.
app.conf.beat_schedule = {
    "relay-webhooks": {
        "task": "accounts.relay_webhooks",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # LCM Arts. 12 and 14: a party barred from the air is not on it. The restriction's listener
    # ends its sessions at once; this catches a go-live that raced the restriction, and a
    # restriction whose start was set ahead.
    "end-barred-sessions": {
        "task": "liverooms.end_barred_sessions",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # LCM Art. 8: every approved file is re-verified at least every 6 months.
    "reverification-sweep": {
        "task": "accounts.reverification_sweep",
        "schedule": crontab(hour=2, minute=30),
    },
    # LCM Arts. 11 and 20: rooms graded by record, reach, sales, category and complaints.
    "rooms-regrade": {
        "task": "liverooms.rooms_regrade",
        "schedule": crontab(hour=3, minute=0),
    },
    # RULES.md §4: overdue complaints go to the lead's queue. Early in the morning, so that the
    # day's queue is complete when the team arrives, and again at midday for the morning's work.
    "complaints-escalate": {
        "task": "complaints.escalate_overdue",
        "schedule": crontab(hour="7,13", minute=0),
    },
    # SAMR complaint rules Art. 21(5): no agreement 45 working days after acceptance ends
    # mediation. After the morning escalation, whose first step brings the due dates up to date
    # with the holiday calendar (a stale date is not acted on: services.mediation).
    "complaints-end-mediation": {
        "task": "complaints.end_expired_mediations",
        "schedule": crontab(hour=7, minute=30),
    },
    "complaints-close-unconfirmed": {
        "task": "complaints.close_unconfirmed",
        "schedule": crontab(hour=4, minute=0),
    },
    # Notices whose message was lost (like relay-webhooks).
    # Evaluations made on the web form while no endpoint took their order question.
    "complaints-ask-unasked-orders": {
        "task": "complaints.ask_unasked_orders",
        "schedule": 15 * 60.0,
        "options": {"expires": 14 * 60},
    },
    "complaints-relay-notices": {
        "task": "complaints.relay_notices",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
    # Deductions, refunds, referrals, statements and notifications whose message was lost.
    "enforcement-relay-money": {
        "task": "enforcement.relay_money",
        "schedule": 120.0,
        "options": {"expires": 110},
    },
    "enforcement-relay-referrals": {
        "task": "enforcement.relay_referrals",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "enforcement-relay-statements": {
        "task": "enforcement.relay_statements",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
    "enforcement-relay-notifications": {
        "task": "enforcement.relay_notifications",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
    # Terms that ended (suspensions, bans, blacklisting: LCM Art. 14) and overdue corrections.
    "enforcement-lift-expired": {
        "task": "enforcement.lift_expired",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
    "enforcement-escalate-notices": {
        "task": "enforcement.escalate_notices",
        "schedule": crontab(hour="7,13", minute=5),
    },
    # The balance always equals the sum of entries: proved every night.
    "enforcement-reconcile-ledger": {
        "task": "enforcement.reconcile_ledger",
        "schedule": crontab(hour=1, minute=30),
    },
    # RULES.md §6: every score recomputed from every event under the rules in force (a rule set
    # whose date has come takes over here), after the night's repairs.
    "credit-repair": {
        "task": "credit.repair_sweep",
        "schedule": crontab(hour=0, minute=30),
    },
    "credit-recompute": {
        "task": "credit.recompute_all",
        "schedule": crontab(hour=1, minute=0),
    },
    # Joint discipline (LCM Art. 14): the consortium's feeds, read every 15 minutes; identities
    # of parties registered since the last run first, so that the pull can match them. Entries
    # waiting for an identity are completed right after commit; the backfill is their safety net.
    "credit-consortium-identities": {
        "task": "credit.backfill_consortium_identities",
        "schedule": crontab(minute="5,20,35,50"),
    },
    "credit-pull-peers": {
        "task": "credit.pull_peers",
        "schedule": 15 * 60.0,
        "options": {"expires": 14 * 60},
    },
}
