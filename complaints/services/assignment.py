"""Who handles a case: round robin among reviewers with room, or by hand."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.actors import Actor
from complaints.models import (
    OPEN_STATUSES,
    Case,
    CaseEvent,
    ReviewerCapacity,
)
from complaints.services.base import lock_case, record_event, require_staff, require_status

# --- Assignment --------------------------------------------------------------------------------


def open_load(user_ids: list[int] | None = None) -> dict[int, int]:
    """Open cases per assignee; of the users given, or of everyone. Given the users, it reads
    their cases only (the (assignee, status) index), however many open cases others hold."""
    cases = Case.objects.filter(status__in=OPEN_STATUSES, assignee__isnull=False)
    if user_ids is not None:
        cases = cases.filter(assignee_id__in=user_ids)
    rows = cases.values("assignee").annotate(n=Count("id"))
    return {row["assignee"]: row["n"] for row in rows}


def _may_handle(user_ids: list[int]) -> set[int]:
    """Those of the users who hold the permission to handle cases, directly, through a group or
    as superusers: what User.has_perm answers for each, in one query. It asks ModelBackend, the
    only backend that grants permissions here (axes' backend only refuses logins); a backend
    added later that grants them must be asked here as well."""
    if not user_ids:
        return set()
    holders = get_user_model().objects.with_perm(
        "complaints.change_case", backend="django.contrib.auth.backends.ModelBackend"
    )
    return set(holders.filter(pk__in=user_ids).values_list("pk", flat=True))


@transaction.atomic
def case_assign_round_robin(*, case: Case, actor: Actor):
    """Give the case to the available reviewer with the fewest open cases who still has room;
    among equals, the one who waited longest since their last case. Nobody with room: the case
    stays in the "new" queue for a lead. Returns the reviewer chosen, or None; a case no longer
    open is refused (Conflict)."""
    # Checked under the row lock: a case withdrawn or closed meanwhile is refused, not handed out.
    case.status = (
        Case.objects.select_for_update().filter(pk=case.pk).values_list("status", flat=True).get()
    )
    require_status(case, *OPEN_STATUSES)
    # Only the capacity rows are locked (they serialise concurrent filings' choices), never the
    # reviewers' user rows, which logins write.
    capacities = list(
        ReviewerCapacity.objects.select_for_update(of=("self",))
        .filter(is_available=True, user__is_active=True)
        .select_related("user")
    )
    if not capacities:
        return None
    # A capacity row outlives a change of role: someone moved off the team could not act on
    # the case (every handling service needs this permission), so it would sit until overdue.
    # One query for the whole team: User.has_perm would read each reviewer's permissions.
    able = _may_handle([c.user_id for c in capacities])
    capacities = [c for c in capacities if c.user_id in able]
    load = open_load([c.user_id for c in capacities]) if capacities else {}
    candidates = [c for c in capacities if load.get(c.user_id, 0) < c.max_open_cases]
    if not candidates:
        return None
    epoch = timezone.make_aware(datetime(2000, 1, 1))
    chosen = min(
        candidates,
        key=lambda c: (load.get(c.user_id, 0), c.last_assigned_at or epoch, c.user_id),
    )
    chosen.last_assigned_at = timezone.now()
    chosen.save(update_fields=["last_assigned_at"])
    case.assignee = chosen.user
    case.save(update_fields=["assignee"])
    record_event(
        case,
        CaseEvent.Kind.ASSIGNED,
        actor,
        public=False,
        data={"assignee": chosen.user.get_username()},
    )
    return chosen.user


@transaction.atomic
def case_assign(*, case: Case, assignee, actor: Actor) -> Case:
    require_staff(actor)
    case = lock_case(case)
    require_status(case, *OPEN_STATUSES)
    if assignee is not None and not assignee.has_perm("complaints.change_case"):
        raise ValidationError({"assignee": _("This person does not handle complaints.")})
    case.assignee = assignee
    case.save(update_fields=["assignee"])
    record_event(
        case,
        CaseEvent.Kind.ASSIGNED,
        actor,
        public=False,
        data={"assignee": assignee.get_username() if assignee else None},
    )
    return case
