"""Each session records its operator: the room's owner when it went live.

A room changes hands with its account (``services.room_register``). Until now a session's
responsible party was read through its room, so a room's new owner inherited its past sessions:
their alerts through the API, and the complaints and violations later raised about them. The
existing sessions take the owner their room has now, the best record there is of who ran them.

The column is made required in ``0014``: on PostgreSQL the rows written here hold deferred
foreign-key checks until the transaction ends, and a table with such pending checks cannot be
altered in the same transaction.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def owners_from_rooms(apps, schema_editor):
    LiveSession = apps.get_model("liverooms", "LiveSession")
    LiveRoom = apps.get_model("liverooms", "LiveRoom")
    LiveSession.objects.filter(owner__isnull=True).update(
        owner_id=Subquery(LiveRoom.objects.filter(pk=OuterRef("room_id")).values("owner_id")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_restriction_reversed_on_appeal"),
        ("liverooms", "0012_session_product_labels"),
    ]

    operations = [
        migrations.AddField(
            model_name="livesession",
            name="owner",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="sessions_run",
                to="accounts.party",
                verbose_name="operator",
            ),
        ),
        migrations.RunPython(owners_from_rooms, migrations.RunPython.noop, elidable=True),
    ]
