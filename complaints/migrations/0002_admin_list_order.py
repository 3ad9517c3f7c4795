"""The change list's default order, newest first, read from an index: no sort of every case."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("complaints", "0001_cases_evaluations"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="case",
            index=models.Index(fields=["received_at", "id"], name="case_received_idx"),
        ),
    ]
