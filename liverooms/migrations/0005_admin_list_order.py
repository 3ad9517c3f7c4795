"""The alert list's default order, and the open alerts its queue counts, read from indexes."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("liverooms", "0004_clip_labels"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="alert",
            index=models.Index(fields=["raised_at", "id"], name="alert_raised_idx"),
        ),
        migrations.AddIndex(
            model_name="alert",
            index=models.Index(
                condition=models.Q(("status", "open")),
                fields=["raised_at", "id"],
                name="alert_open_idx",
            ),
        ),
    ]
