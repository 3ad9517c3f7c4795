"""Mark the consumer notices already owed: events of the last 30 days that were to be e-mailed to
a consumer with an address and have no Notification. In batches, each committed alone (the
migration is not atomic), so that no batch holds its rows for long."""

from datetime import timedelta

from django.db import migrations
from django.utils import timezone

# Notices older than this were given up by the relay long ago; marking them owed now would fill
# the reviewers' queue with cases long decided.
BACKFILL = timedelta(days=30)
BATCH = 5_000


def mark_owed(apps, schema_editor):
    CaseEvent = apps.get_model("complaints", "CaseEvent")
    owed = (
        CaseEvent.objects.filter(
            notify_consumer=True,
            notice_pending=False,
            notification__isnull=True,
            at__gte=timezone.now() - BACKFILL,
        )
        .exclude(case__contact_email_enc="")
        .order_by("pk")
    )
    last = 0
    while True:
        ids = list(owed.filter(pk__gt=last).values_list("pk", flat=True)[:BATCH])
        if not ids:
            return
        CaseEvent.objects.filter(pk__in=ids).update(notice_pending=True)
        last = ids[-1]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("complaints", "0007_notice_pending_index"),
    ]

    operations = [
        migrations.RunPython(mark_owed, migrations.RunPython.noop, elidable=True),
    ]
