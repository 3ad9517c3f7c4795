"""A peer's announced next signing key, and when its key last changed (credit/sharing.py)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("credit", "0003_first_rule_set"),
    ]

    operations = [
        migrations.AddField(
            model_name="peer",
            name="key_rotated_at",
            field=models.DateTimeField(
                editable=False, null=True, verbose_name="signing key last changed"
            ),
        ),
        migrations.AddField(
            model_name="peer",
            name="next_public_key",
            field=models.TextField(
                blank=True, editable=False, verbose_name="announced next signing key"
            ),
        ),
    ]
