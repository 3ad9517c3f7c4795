"""The clocks: due dates derived from receipt, acceptance and the working days paused; their
recomputation against the holiday calendar; overdue cases, escalation, closing and the relay of
lost notices."""

from __future__ import annotations

import copy
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.actors import Actor
from accounts.workdays import WorkingCalendar, working_calendar
from complaints.models import (
    OPEN_STATUSES,
    PAUSED_STATUSES,
    Case,
    CaseEvent,
    CaseStatus,
    running_clock_due,
)
from complaints.services.base import (
    ACCEPTANCE_WORKING_DAYS,
    MEDIATION_WORKING_DAYS,
    lock_case,
    record_event,
)


def compute_dues(case: Case, *, resumed_on: date | None = None) -> None:
    """The due dates from receipt, acceptance and the working days the clocks stood still.

    Acceptance: 7 working days from receipt (SAMR complaint rules Art. 15); resolution: the
    published target from receipt; mediation: 45 working days from acceptance (Art. 21(5)). Pauses
    before acceptance push all three; pauses after it push resolution and mediation. The days
    paused are counted again each time, from the pauses on the case's timeline (`_count_pauses`;
    `resumed_on` ends the one still open).
    """
    calendar = working_calendar()
    estimated = _count_pauses(case, calendar, resumed_on) if case.pk is not None else False
    received_day = timezone.localdate(case.received_at)
    before, after = case.paused_days_before_acceptance, case.paused_days_after_acceptance
    acceptance = calendar.add_working_days(received_day, ACCEPTANCE_WORKING_DAYS + before)
    resolution = calendar.add_working_days(
        received_day, case.resolution_working_days + before + after
    )
    case.acceptance_due, case.resolution_due = acceptance.due, resolution.due
    estimated = estimated or acceptance.estimated or resolution.estimated
    if case.accepted_at is not None:
        mediation = calendar.add_working_days(
            timezone.localdate(case.accepted_at), MEDIATION_WORKING_DAYS + after
        )
        case.mediation_due = mediation.due
        estimated = estimated or mediation.estimated
    case.deadline_estimated = estimated


def _count_pauses(case: Case, calendar: WorkingCalendar, resumed_on: date | None) -> bool:
    """Count the working days the clocks stood still before and after acceptance, from the
    case's timeline; True when a day counted lies beyond the published calendar.

    Counted only when each pause ended, a pause in a year whose holidays were not entered yet
    would stay counted on plain weekdays: the timeline keeps its dates, so every count is made
    again against the calendar as it now stands. A pause opens with the first event whose status
    is a paused one and ends with the next whose status is not; the status before it says
    whether it came before acceptance. A pause still open is left out (its clocks stand still),
    unless the caller is ending it on `resumed_on` and writes its event afterwards.
    """
    before = after = 0
    estimated, previous, opened = False, CaseStatus.NEW, None
    timeline = [
        (status, timezone.localdate(at))
        for status, at in case.events.order_by("at", "id").values_list("status", "at")
    ]
    if resumed_on is not None:
        timeline.append((case.status, resumed_on))  # the event the caller is about to write
    for status, day in timeline:
        if status in PAUSED_STATUSES and opened is None:
            opened, opened_from = day, previous
        elif status not in PAUSED_STATUSES and opened is not None:
            lost = calendar.working_days_between(opened, day)
            if opened_from == CaseStatus.NEW:
                before += lost
            else:
                after += lost
            if day > opened:
                counted_years = range((opened + timedelta(days=1)).year, day.year + 1)
                estimated = estimated or not calendar.known_years.issuperset(counted_years)
            opened = None
        previous = status
    case.paused_days_before_acceptance = before
    case.paused_days_after_acceptance = after
    return estimated


def _dues(case: Case) -> tuple:
    return (
        case.acceptance_due,
        case.resolution_due,
        case.mediation_due,
        case.deadline_estimated,
        case.paused_days_before_acceptance,
        case.paused_days_after_acceptance,
    )


def dues_up_to_date(case: Case) -> bool:
    """Whether the stored due dates are the ones the holiday calendar as it now stands gives
    (staff may have entered or corrected days since they were computed). Computed on a copy:
    the case is not changed; `refresh_deadlines` moves stale dates, with an event."""
    fresh = copy.copy(case)
    compute_dues(fresh)
    return _dues(fresh) == _dues(case)


def refresh_deadlines(*, actor: Actor) -> int:
    """Compute every open case's due dates again against the calendar as it now stands.

    Staff extend the calendar with next year's schedule (turning estimates into exact dates) and
    occasionally correct a day already entered (a 31 December moved by the next notice), which
    shifts cases that were never estimates. Dates are recomputed from what they are derived from,
    the pauses on the timeline included, so this is exact; a case whose dates move is locked and
    checked again before it is written, and the consumer's timeline and the platform are told.
    Returns how many cases changed.
    """
    changed = 0
    for pk in Case.objects.filter(status__in=OPEN_STATUSES).values_list("pk", flat=True).iterator():
        case = Case.objects.get(pk=pk)
        if dues_up_to_date(case):
            continue
        with transaction.atomic():
            case = lock_case(case)
            if case.status not in OPEN_STATUSES:
                continue
            stored = _dues(case)
            compute_dues(case)
            if _dues(case) == stored:
                continue
            case.save(
                update_fields=[
                    "acceptance_due",
                    "resolution_due",
                    "mediation_due",
                    "deadline_estimated",
                    "paused_days_before_acceptance",
                    "paused_days_after_acceptance",
                ]
            )
            record_event(
                case,
                CaseEvent.Kind.DEADLINES_UPDATED,
                actor,
                tell_platform=True,
                data={
                    "before": [d.isoformat() if d else None for d in stored[:3]],
                    "estimated_before": stored[3],
                },
            )
            changed += 1
    return changed


# --- Deadlines ---------------------------------------------------------------------------------


def overdue_cases(today: date | None = None):
    """Open cases past a running clock: acceptance while new, resolution while in handling.
    Cases waiting for the consumer or an appraisal are not overdue: their clocks are stopped."""
    today = today or timezone.localdate()
    return Case.objects.alias(clock_due=running_clock_due()).filter(clock_due__lt=today)


def due_today_cases(today: date | None = None):
    """Open cases whose running clock ends today (the same clocks as `overdue_cases`)."""
    today = today or timezone.localdate()
    return Case.objects.alias(clock_due=running_clock_due()).filter(clock_due=today)


def overdue_clock(case: Case, today: date | None = None) -> str:
    """Which running clock of a loaded case has passed: "acceptance", "resolution" or "".
    The rule of `overdue_cases`, for one row (the workbench's list marks overdue dates)."""
    today = today or timezone.localdate()
    if case.status == CaseStatus.NEW and case.acceptance_due < today:
        return "acceptance"
    if case.status == CaseStatus.ACCEPTED and case.resolution_due < today:
        return "resolution"
    return ""


def escalate_overdue(*, actor: Actor, today: date | None = None, batch: int = 500) -> int:
    """Mark overdue cases once per clock, put them in the lead's queue and tell the leads."""
    escalated = 0
    today = today or timezone.localdate()
    # Escalated before acceptance means the acceptance clock was; the resolution clock that
    # runs from acceptance is a second deadline and is escalated in its own right.
    pending = overdue_cases(today).filter(
        Q(escalated_at__isnull=True)
        | Q(status=CaseStatus.ACCEPTED, escalated_at__lt=F("accepted_at"))
    )
    ids = list(pending.values_list("pk", flat=True)[:batch])
    for pk in ids:
        with transaction.atomic():
            # Checked again under the lock: a reviewer may have acted since the list was read.
            case = pending.select_for_update().filter(pk=pk).first()
            if case is None:
                continue
            case.escalated_at = timezone.now()
            case.save(update_fields=["escalated_at"])
            event = record_event(
                case,
                CaseEvent.Kind.ESCALATED,
                actor,
                public=False,
                data={
                    "clock": overdue_clock(case, today),
                    "acceptance_due": case.acceptance_due.isoformat(),
                    "resolution_due": case.resolution_due.isoformat(),
                },
            )
            from complaints import tasks

            transaction.on_commit(lambda pk=event.pk: tasks.notify_leads.delay(pk))
            escalated += 1
    return escalated


# --- Housekeeping ------------------------------------------------------------------------------


def close_unconfirmed(*, actor: Actor, now: datetime | None = None, batch: int = 500) -> int:
    """Decided cases the consumer neither confirmed nor disputed within the confirmation period
    close on their own; the consumer can still rate the handling."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.COMPLAINT_CONFIRMATION_DAYS)
    closed = 0
    ids = list(
        Case.objects.filter(status=CaseStatus.DECIDED, decided_at__lt=cutoff).values_list(
            "pk", flat=True
        )[:batch]
    )
    for pk in ids:
        with transaction.atomic():
            case = Case.objects.select_for_update().get(pk=pk)
            if case.status != CaseStatus.DECIDED:
                continue  # confirmed meanwhile
            case.status = CaseStatus.CLOSED
            case.closed_at = now
            case.save(update_fields=["status", "closed_at"])
            record_event(case, CaseEvent.Kind.CLOSED, actor, status_changed=True)
            closed += 1
    return closed


# A notice still unsent after this long lost its message (a broker restart, a killed worker);
# after RELAY_MAX_AGE the relay stops: a consumer notice still owed then is a reviewer's to give
# another way or to send again (services.notices), and has been in their queue since its first
# day (NOTICE_FOLLOW_UP_AFTER).
RELAY_GRACE = timedelta(minutes=5)
RELAY_MAX_AGE = timedelta(days=7)


def unsent_notices(now: datetime | None = None) -> tuple[list[int], list[int]]:
    """Events whose e-mail should have gone out and has not: (to consumers, to leads). The
    consumers' come from the index of pending notices, not from every event of the week."""
    now = now or timezone.now()
    window = {"at__lt": now - RELAY_GRACE, "at__gte": now - RELAY_MAX_AGE}
    consumers = CaseEvent.objects.filter(notice_pending=True, **window).order_by("at", "id")
    leads = CaseEvent.objects.filter(
        kind=CaseEvent.Kind.ESCALATED, notification__isnull=True, **window
    )
    return (
        list(consumers.values_list("pk", flat=True)[:500]),
        list(leads.values_list("pk", flat=True)[:100]),
    )
