"""Writing credit rule sets: drafts, and publication at least 7 days ahead (ECL Art. 34)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.actors import Actor
from config.errors import Conflict
from credit.models import RuleSet
from credit.rules import parse
from credit.scoring import forget_rules

# ECL Art. 34: changes to platform rules are published at least 7 days before they take effect.
NOTICE = timedelta(days=7)


def _require(actor: Actor, permission: str) -> None:
    if actor.user is None or not actor.user.has_perm(permission):
        raise PermissionDenied(_("You do not have permission to do this."))


@transaction.atomic
def ruleset_draft(*, title: str, rules: dict, summary: str, actor: Actor) -> RuleSet:
    """A new draft version, checked like a published one."""
    _require(actor, "credit.add_ruleset")
    if not title.strip():
        raise ValidationError({"title": _("Give the rule set a title.")})
    parse(rules)
    latest = RuleSet.objects.select_for_update().aggregate(v=Max("version"))["v"] or 0
    return RuleSet.objects.create(
        version=latest + 1,
        title=title.strip(),
        summary=summary.strip(),
        rules=rules,
        created_by=actor.label,
    )


@transaction.atomic
def ruleset_update(*, rule_set: RuleSet, actor: Actor, **fields) -> RuleSet:
    _require(actor, "credit.change_ruleset")
    rule_set = RuleSet.objects.select_for_update().get(pk=rule_set.pk)
    if rule_set.is_published:
        raise Conflict(_("A published rule set is never changed; draft a new version."))
    for name in ("title", "summary", "rules"):
        if name in fields:
            setattr(rule_set, name, fields[name])
    parse(rule_set.rules)
    rule_set.save(update_fields=["title", "summary", "rules"])
    return rule_set


@transaction.atomic
def ruleset_publish(
    *, rule_set: RuleSet, effective_from: datetime, actor: Actor, now: datetime | None = None
) -> RuleSet:
    """Publish a draft to take effect at `effective_from`, no sooner than 7 days from now. It
    is public from this moment; scores move to it when it takes effect."""
    _require(actor, "credit.publish_ruleset")
    now = now or timezone.now()
    rule_set = RuleSet.objects.select_for_update().get(pk=rule_set.pk)
    if rule_set.is_published:
        raise Conflict(_("This rule set has been published already."))
    parse(rule_set.rules)
    if effective_from < now + NOTICE:
        raise ValidationError(
            {
                "effective_from": _(
                    "Rules take effect at least 7 days after they are published (E-Commerce "
                    "Law Art. 34): %(date)s at the earliest."
                )
                % {"date": timezone.localtime(now + NOTICE).strftime("%Y-%m-%d %H:%M")}
            }
        )
    later = RuleSet.objects.filter(published_at__isnull=False, effective_from__gte=effective_from)
    if later.exists():
        raise ValidationError(
            {"effective_from": _("Another published version takes effect on or after this date.")}
        )
    rule_set.published_at = now
    rule_set.published_by = actor.label
    rule_set.effective_from = effective_from
    rule_set.save(update_fields=["published_at", "published_by", "effective_from"])
    transaction.on_commit(forget_rules)
    return rule_set
