"""Every session now has its operator (0013): the column is required, and indexed for a party's
own sessions."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("liverooms", "0013_session_owner")]

    operations = [
        migrations.AlterField(
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
        migrations.AddIndex(
            model_name="livesession",
            index=models.Index(fields=["owner", "started_at"], name="session_owner_idx"),
        ),
    ]
