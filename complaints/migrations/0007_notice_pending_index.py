"""The index of the notices owed, built without blocking writes to the events table."""

from django.db import migrations, models

from config.migration_operations import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("complaints", "0006_notice_pending"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="caseevent",
            index=models.Index(
                condition=models.Q(("notice_pending", True)),
                fields=["at"],
                name="caseevent_notice_pending_idx",
            ),
        ),
    ]
