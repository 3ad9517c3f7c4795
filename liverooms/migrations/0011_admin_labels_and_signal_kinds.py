"""Labels for the fields the patrol admin shows, which showed their English attribute names on
the Chinese pages, and the alerts' signal kinds as choices, shown by their labels. Names and
choices only: no SQL."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("liverooms", "0010_rulepack_3"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="alert",
            name="batch",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="alerts",
                to="liverooms.signalbatch",
                verbose_name="signal batch",
            ),
        ),
        migrations.AlterField(
            model_name="alert",
            name="decided_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="decided at"
            ),
        ),
        migrations.AlterField(
            model_name="alert",
            name="decided_by",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="decided by",
            ),
        ),
        migrations.AlterField(
            model_name="alert",
            name="rule",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="alerts",
                to="liverooms.monitoringrule",
                verbose_name="monitoring rule",
            ),
        ),
        migrations.AlterField(
            model_name="alert",
            name="session",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="alerts",
                to="liverooms.livesession",
                verbose_name="live session",
            ),
        ),
        migrations.AlterField(
            model_name="alert",
            name="signal_kind",
            field=models.CharField(
                choices=[("transcript", "speech"), ("chat", "chat"), ("listing", "listing title")],
                max_length=16,
                verbose_name="signal",
            ),
        ),
        migrations.AlterField(
            model_name="contentlabel",
            name="created_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now, editable=False, verbose_name="created at"
            ),
        ),
        migrations.AlterField(
            model_name="goliverefusal",
            name="at",
            field=models.DateTimeField(
                db_index=True, default=django.utils.timezone.now, verbose_name="refused at"
            ),
        ),
        migrations.AlterField(
            model_name="goliverefusal",
            name="reasons",
            field=models.JSONField(verbose_name="reasons"),
        ),
        migrations.AlterField(
            model_name="goliverefusal",
            name="room",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="refusals",
                to="liverooms.liveroom",
                verbose_name="live room",
            ),
        ),
        migrations.AlterField(
            model_name="inspection",
            name="at",
            field=models.DateTimeField(
                default=django.utils.timezone.now, editable=False, verbose_name="inspected at"
            ),
        ),
        migrations.AlterField(
            model_name="inspection",
            name="inspector",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="inspections",
                to=settings.AUTH_USER_MODEL,
                verbose_name="inspector",
            ),
        ),
        migrations.AlterField(
            model_name="inspection",
            name="session",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="inspections",
                to="liverooms.livesession",
                verbose_name="live session",
            ),
        ),
        migrations.AlterField(
            model_name="liveroom",
            name="risk_graded_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="risk graded at"
            ),
        ),
        migrations.AlterField(
            model_name="livesession",
            name="room",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="sessions",
                to="liverooms.liveroom",
                verbose_name="live room",
            ),
        ),
        migrations.AlterField(
            model_name="sessionanchor",
            name="is_ai_presenter",
            field=models.BooleanField(default=False, verbose_name="AI presenter"),
        ),
    ]
