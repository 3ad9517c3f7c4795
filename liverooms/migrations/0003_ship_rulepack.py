"""Ship the monitoring rule pack (RULES.md §3) as published rules.

Only codes not yet present are added, so a pack edited in the admin is never overwritten; the
reverse removes the pack's rules that no alert refers to.
"""

from django.db import migrations
from django.utils import timezone


def load(apps, schema_editor):
    from liverooms.monitoring.rulepack import rules

    MonitoringRule = apps.get_model("liverooms", "MonitoringRule")
    present = set(MonitoringRule.objects.values_list("code", flat=True))
    now = timezone.now()
    MonitoringRule.objects.bulk_create(
        MonitoringRule(
            **rule.to_dict(), status="published", published_at=now, published_by="rule pack"
        )
        for rule in rules()
        if rule.code not in present
    )


def unload(apps, schema_editor):
    from liverooms.monitoring.rulepack import rules

    MonitoringRule = apps.get_model("liverooms", "MonitoringRule")
    MonitoringRule.objects.filter(
        code__in=[r.code for r in rules()], published_by="rule pack", alerts__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("liverooms", "0002_rule_kind_session")]

    operations = [migrations.RunPython(load, unload)]
