"""The first credit rule set, in force from the start of the records (the 7-day notice of ECL Art.
34 applies to changes: there were no rules before this one to change)."""

from django.db import migrations

from credit.rules import DEFAULT_RULES, FIRST_EFFECTIVE


def seed(apps, schema_editor):
    RuleSet = apps.get_model("credit", "RuleSet")
    if RuleSet.objects.exists():
        return
    now = FIRST_EFFECTIVE
    RuleSet.objects.create(
        version=1,
        title="直播主体信用评价规则（第一版）",
        summary="1000 分制，A–E 五级；违规、处置、投诉、制裁名单扣分，培训、整改、信用修复加分，"
        "消费者评价按近期加权计入。",
        rules=DEFAULT_RULES,
        created_by="system:credit",
        published_at=now,
        published_by="system:credit",
        effective_from=now,
    )


class Migration(migrations.Migration):
    dependencies = [("credit", "0002_rules_events_scores_sharing")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
