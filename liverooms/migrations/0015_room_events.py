"""A room's timeline: registered, changed hands, category changed (services.room_register). It
begins with this migration: rooms registered before it have no registration event."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("liverooms", "0014_session_owner_required"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="RoomEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "at",
                    models.DateTimeField(
                        db_index=True,
                        default=django.utils.timezone.now,
                        editable=False,
                        verbose_name="at",
                    ),
                ),
                ("actor_label", models.CharField(max_length=150, verbose_name="actor")),
                ("reason", models.TextField(blank=True, verbose_name="reason")),
                ("data", models.JSONField(blank=True, default=dict, verbose_name="details")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("registered", "Registered"),
                            ("changed_hands", "Changed hands"),
                            ("recategorised", "Category changed"),
                        ],
                        max_length=16,
                        verbose_name="event",
                    ),
                ),
                (
                    "actor_user",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="actor",
                    ),
                ),
                (
                    "room",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="events",
                        to="liverooms.liveroom",
                        verbose_name="live room",
                    ),
                ),
            ],
            options={
                "verbose_name": "room event",
                "verbose_name_plural": "room events",
                "ordering": ["at", "id"],
                "abstract": False,
            },
        ),
    ]
