"""Evaluations carry the platform's answer on their order.

The columns have database defaults, so that processes still on the previous code go on inserting
evaluations while this is deployed: such a row is counted at once, as that code does, and the
default says so (`before_checks`), as it does for the rows already stored. New code writes the
state itself (`pending` until the platform answers, or `forwarded`)."""

from django.db import migrations, models

CHOICES = [
    ("forwarded", "Forwarded by the platform with its order"),
    ("pending", "Waiting for the platform to confirm the order"),
    ("confirmed", "Order confirmed by the platform"),
    ("not_found", "No such order, says the platform"),
    ("duplicate_order", "The order's evaluation already counts"),
    ("before_checks", "Stored before orders were checked"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("complaints", "0008_notice_pending_backfill"),
    ]

    operations = [
        # Constant defaults: PostgreSQL adds the columns without rewriting the table.
        migrations.AddField(
            model_name="evaluation",
            name="order_check",
            field=models.CharField(
                choices=CHOICES,
                db_default="before_checks",
                default="pending",
                editable=False,
                max_length=16,
                verbose_name="order check",
            ),
        ),
        migrations.AddField(
            model_name="evaluation",
            name="order_checked_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="order checked at"
            ),
        ),
        migrations.AddField(
            model_name="evaluation",
            name="order_checked_by",
            field=models.CharField(
                blank=True,
                db_default="",
                editable=False,
                max_length=150,
                verbose_name="order checked by",
            ),
        ),
    ]
