"""Every session has its operator: the sessions from before ``0013`` take the owner their room has
now, the best record there is of who ran them; the column is then required, and indexed for a
party's own sessions.

Each step leaves the sessions table in use (``config.migration_operations``): the rows are filled
in batches, each committed alone, the NULL check reads the table without holding it, and the
index is built concurrently. Sessions written by a process still running the code from before
``0013`` have no operator and make the check fail: on a database in use this migration is applied
once every process records it (README, "Migrations on a database in use").
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery

from config.migration_operations import AddIndexConcurrently, SetNotNullOnline

BATCH = 5_000


def owners_from_rooms(apps, schema_editor):
    LiveSession = apps.get_model("liverooms", "LiveSession")
    LiveRoom = apps.get_model("liverooms", "LiveRoom")
    owner = Subquery(
        LiveRoom.objects.filter(pk=OuterRef("room_id")).order_by().values("owner_id")[:1]
    )
    missing = LiveSession.objects.filter(owner__isnull=True).order_by("pk")
    last = 0
    while ids := list(missing.filter(pk__gt=last).values_list("pk", flat=True)[:BATCH]):
        LiveSession.objects.filter(pk__in=ids, owner__isnull=True).update(owner_id=owner)
        last = ids[-1]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("liverooms", "0013_session_owner")]

    operations = [
        migrations.RunPython(owners_from_rooms, migrations.RunPython.noop, elidable=True),
        SetNotNullOnline(
            model_name="livesession",
            name="owner",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="sessions_run",
                to="accounts.party",
                verbose_name="operator",
            ),
        ),
        AddIndexConcurrently(
            model_name="livesession",
            index=models.Index(fields=["owner", "started_at"], name="session_owner_idx"),
        ),
    ]
