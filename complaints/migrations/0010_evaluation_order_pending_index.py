"""The index of the evaluations waiting for the platform, built without blocking writes."""

from django.db import migrations, models

from config.migration_operations import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("complaints", "0009_evaluation_order_check"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="evaluation",
            index=models.Index(
                condition=models.Q(("order_check", "pending")),
                fields=["created_at"],
                name="evaluation_order_pending_idx",
            ),
        ),
    ]
