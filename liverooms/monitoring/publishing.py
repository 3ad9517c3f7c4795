"""How a data migration brings a database up to the shipped rule pack (``rulepack``): the steps
``0007_rulepack_2``, ``0010_rulepack_3`` and ``0016_rulepack_4`` share, on the historical models
a migration is given.

A new version of each rule whose entry changed, and each rule new in the pack, through the
rules' own versioning: the version in force is retired and the new one published in its place,
as ``services.rule_publish`` does. Only a rule whose version in force came from a pack (its
``published_by`` is one of ``sources``) and differs from the pack's entry now is replaced: a rule
changed in the admin (published by a person) or withdrawn there (no version in force) is left as
it is. In a new database ``0003`` has already loaded the pack as it is now, and this finds
nothing to do.
"""

from django.db.models import Max
from django.utils import timezone


def publish(apps, *, published_by: str, sources: tuple[str, ...]) -> None:
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
                    published_by=published_by,
                )
            continue
        if current.published_by not in sources or _holds(current, rule):
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
            published_by=published_by,
        )


def _holds(row, rule) -> bool:
    """Whether a rule row already says what the pack's entry says, its number aside: the entries
    a pack left as they were, and every entry in a database that 0003 loaded with a later pack."""
    return all(
        getattr(row, name) == value for name, value in rule.to_dict().items() if name != "version"
    )


def unpublish(apps, *, published_by: str, sources: tuple[str, ...]) -> None:
    """The reverse: the replaced versions back in force, and the new ones that no alert refers
    to deleted (the others stay, retired, as the evidence of their alerts)."""
    MonitoringRule = apps.get_model("liverooms", "MonitoringRule")
    for new in MonitoringRule.objects.filter(published_by=published_by, status="published"):
        MonitoringRule.objects.filter(pk=new.pk).update(status="retired")
        replaced = (
            MonitoringRule.objects.filter(
                code=new.code,
                version__lt=new.version,
                status="retired",
                published_by__in=sources,
            )
            .order_by("-version")
            .first()
        )
        if replaced is not None:
            MonitoringRule.objects.filter(pk=replaced.pk).update(status="published")
    MonitoringRule.objects.filter(published_by=published_by, alerts__isnull=True).delete()
