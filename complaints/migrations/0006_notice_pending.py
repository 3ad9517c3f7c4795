"""Consumer notices owed and not yet delivered, marked on their event and indexed: what the
relay and the reviewers' follow-up queue read (complaints.services.notices)."""

from datetime import timedelta

from django.db import migrations, models
from django.utils import timezone

# Notices older than this were given up by the relay long ago; marking them owed now would fill
# the reviewers' queue with cases long decided.
BACKFILL = timedelta(days=30)


def mark_owed(apps, schema_editor):
    CaseEvent = apps.get_model("complaints", "CaseEvent")
    CaseEvent.objects.filter(
        notify_consumer=True,
        notification__isnull=True,
        at__gte=timezone.now() - BACKFILL,
    ).exclude(case__contact_email_enc="").update(notice_pending=True)


class Migration(migrations.Migration):
    dependencies = [
        ("complaints", "0005_mediation_end"),
    ]

    operations = [
        migrations.AddField(
            model_name="caseevent",
            name="notice_pending",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.AddIndex(
            model_name="caseevent",
            index=models.Index(
                condition=models.Q(("notice_pending", True)),
                fields=["at"],
                name="caseevent_notice_pending_idx",
            ),
        ),
        migrations.RunPython(mark_owed, migrations.RunPython.noop, elidable=True),
    ]
