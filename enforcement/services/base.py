"""What every enforcement service shares: guards, locks and the timeline rows."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from accounts.actors import Actor
from config.errors import Conflict
from enforcement.models import Measure, MeasureEvent, Violation, ViolationEvent


def require_person(actor: Actor, permission: str | None = None) -> None:
    """Decisions about a party are made by a person with the permission, never by a key or a
    task (DSA Art. 20: appeals never decided solely by automation)."""
    if actor.user is None:
        raise PermissionDenied(_("This decision is made by a member of the compliance team."))
    if permission and not actor.user.has_perm(permission):
        raise PermissionDenied(_("You do not have permission to do this."))


def lock_measure(measure: Measure) -> Measure:
    """The measure's row only: the violation and the party come along to be read, not locked (a
    lock on them would queue every other measure of the party behind this one)."""
    return (
        Measure.objects.select_for_update(of=("self",))
        .select_related("violation", "party")
        .get(pk=measure.pk)
    )


def require_measure_status(measure: Measure, *statuses: str) -> None:
    if measure.status not in statuses:
        raise Conflict(
            _("This measure is %(status)s; that does not allow this change.")
            % {"status": measure.get_status_display()}
        )


def measure_event(measure: Measure, kind: str, actor: Actor, reason: str = "", **data):
    return MeasureEvent.objects.create(
        measure=measure, kind=kind, reason=reason, data=data, **actor.event_fields()
    )


def violation_event(violation: Violation, kind: str, actor: Actor, reason: str = "", **data):
    return ViolationEvent.objects.create(
        violation=violation, kind=kind, reason=reason, data=data, **actor.event_fields()
    )
