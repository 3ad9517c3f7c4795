"""The indexes of evaluations' order checks, built without blocking writes: the other
evaluations of an order, and the few waiting for the platform's answer."""

import django.db.models.functions.text
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
                django.db.models.functions.text.Upper(
                    django.db.models.functions.text.Replace(
                        models.F("order_number"), models.Value(" "), models.Value("")
                    )
                ),
                name="evaluation_order_idx",
            ),
        ),
        AddIndexConcurrently(
            model_name="evaluation",
            index=models.Index(
                condition=models.Q(("order_check", "pending")),
                fields=["created_at"],
                name="evaluation_order_pending_idx",
            ),
        ),
    ]
