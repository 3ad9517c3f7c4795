"""Publish rule pack 3 (``liverooms.monitoring.rulepack``, "Pack 3"): a new version of each rule
whose entry changed, and the rule new in it, through the rules' own versioning -- the version in
force is retired and the new one published in its place, as ``services.rule_publish`` does.

The same steps as ``0007_rulepack_2``. Only a rule whose version in force came from a pack (0003,
0007 or this one), and differs from the pack's entry now, is replaced: a rule changed in the
admin (published by a person) or withdrawn there (no version in force) is left as it is. In a
new database ``0003`` has already loaded pack 3, and this finds nothing to do. The reverse puts
the replaced versions back in force and deletes the new ones that no alert refers to (the others
stay, retired, as the evidence of their alerts).
"""

from django.db import migrations
from django.db.models import Max
from django.utils import timezone

# Who published the versions this migration makes: how the reverse knows them, and what the
# admin shows. 0003's versions say "rule pack", 0007's "rule pack 2".
PUBLISHED_BY = "rule pack 3"
PACK_SOURCES = ("rule pack", "rule pack 2", PUBLISHED_BY)


def publish(apps, schema_editor):
    from liverooms.monitoring.rulepack import rules

    MonitoringRule = apps.get_model("liverooms", "MonitoringRule")
    now = timezone.now()
    for rule in rules():
        versions = MonitoringRule.objects.filter(code=rule.code)
        current = versions.filter(status="published").first()
        if current is None:
            if not versions.exists():  # a rule new in this pack
                MonitoringRule.objects.create(
                    **rule.to_dict(),
                    status="published",
                    published_at=now,
                    published_by=PUBLISHED_BY,
                )
            continue
        if current.published_by not in PACK_SOURCES or _holds(current, rule):
            continue
        # A draft started in the admin may hold the next number: take the one after all.
        top = versions.aggregate(top=Max("version"))["top"]
        retired = MonitoringRule.objects.filter(pk=current.pk, status="published").update(
            status="retired"
        )
        if retired != 1:
            continue
        MonitoringRule.objects.create(
            **{**rule.to_dict(), "version": max(rule.version, top + 1)},
            status="published",
            published_at=now,
            published_by=PUBLISHED_BY,
        )


def _holds(row, rule) -> bool:
    """Whether a rule row already says what the pack's entry says, its number aside: the entries
    pack 3 left as they were, and every entry in a database that 0003 loaded with pack 3."""
    return all(
        getattr(row, name) == value for name, value in rule.to_dict().items() if name != "version"
    )


def unpublish(apps, schema_editor):
    MonitoringRule = apps.get_model("liverooms", "MonitoringRule")
    for new in MonitoringRule.objects.filter(published_by=PUBLISHED_BY, status="published"):
        MonitoringRule.objects.filter(pk=new.pk).update(status="retired")
        replaced = (
            MonitoringRule.objects.filter(
                code=new.code,
                version__lt=new.version,
                status="retired",
                published_by__in=PACK_SOURCES,
            )
            .order_by("-version")
            .first()
        )
        if replaced is not None:
            MonitoringRule.objects.filter(pk=replaced.pk).update(status="published")
    MonitoringRule.objects.filter(published_by=PUBLISHED_BY, alerts__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("liverooms", "0009_session_rows_no_session_index")]

    operations = [migrations.RunPython(publish, unpublish)]
