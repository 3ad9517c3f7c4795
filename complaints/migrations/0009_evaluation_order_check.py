"""Evaluations carry the platform's answer on their order. Those already stored were counted as
they came: they are marked as stored before the checks began, and stay counted. New ones wait
for the platform (the model's default) unless it forwarded them itself."""

from django.db import migrations, models

CHOICES = [
    ("forwarded", "Forwarded by the platform with its order"),
    ("pending", "Waiting for the platform to confirm the order"),
    ("confirmed", "Order confirmed by the platform"),
    ("not_found", "No such order, says the platform"),
    ("before_checks", "Stored before orders were checked"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("complaints", "0008_notice_pending_backfill"),
    ]

    operations = [
        # A constant default: PostgreSQL adds the column without rewriting the table.
        migrations.AddField(
            model_name="evaluation",
            name="order_check",
            field=models.CharField(
                choices=CHOICES,
                default="before_checks",
                editable=False,
                max_length=16,
                verbose_name="order check",
            ),
        ),
        migrations.AlterField(
            model_name="evaluation",
            name="order_check",
            field=models.CharField(
                choices=CHOICES,
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
                blank=True, editable=False, max_length=150, verbose_name="order checked by"
            ),
        ),
    ]
