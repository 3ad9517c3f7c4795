"""Each session records its operator: the room's owner when it went live.

A room changes hands with its account (``services.room_register``). Until now a session's
responsible party was read through its room, so a room's new owner inherited its past sessions:
their alerts through the API, and the complaints and violations later raised about them.

The column comes here, empty and unchecked for the rows already there, so that the sessions table
stays in use while it changes (``config.migration_operations``). The sessions from before take
their operator in ``0014``, which a deployment with data applies once every process runs the code
that records it (README, "Migrations on a database in use").
"""

import django.db.models.deletion
from django.db import migrations, models

from config.migration_operations import AddForeignKeyOnline


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("accounts", "0007_restriction_reversed_on_appeal"),
        ("liverooms", "0012_session_product_labels"),
    ]

    operations = [
        AddForeignKeyOnline(
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
    ]
