"""Publish rule pack 2 (``liverooms.monitoring.rulepack``, "Pack 2"): a new version of each rule
whose entry changed, through the rules' own versioning -- the version in force is retired and
the new one published in its place, as ``services.rule_publish`` does.

Only a rule whose version in force came from the pack, and differs from the pack's entry now,
is replaced: a rule changed in the admin (published by a person) or withdrawn there (no version
in force) is left as it is, as ``0003`` never overwrites an edited pack. In a new database
``0003`` has already loaded pack 2, and this finds nothing to do. The reverse puts the
replaced versions back in force and deletes the new ones that no alert refers to (the others
stay, retired, as the evidence of their alerts).
"""

from django.db import migrations
from django.db.models import Max
from django.utils import timezone

# Who published the versions this migration makes: how the reverse knows them, and what the
# admin shows. 0003's versions say "rule pack".
PUBLISHED_BY = "rule pack 2"
PACK_SOURCES = ("rule pack", PUBLISHED_BY)


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
    """Whether a rule row already says what the pack's entry says, its number aside: pack 1's
    unchanged entries, and every entry in a database that 0003 loaded with pack 2."""
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
    dependencies = [("liverooms", "0006_signal_batches")]

    operations = [migrations.RunPython(publish, unpublish)]
