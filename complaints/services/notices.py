"""Consumer notices the e-mail did not deliver, and what a reviewer does about them.

A change of status and a reply are e-mailed to a consumer who left an address; the worker sends
it and the relay queues it again for a week (services.deadlines). Some notices are owed within a
time limit -- the termination of mediation within 7 working days (SAMR complaint rules Art. 21,
last paragraph) -- and a mail server that refuses, an address that bounces or an outage longer
than the relay's week must not leave the consumer untold with nobody knowing. A notice still
owed a day after its event is in the reviewers' queue; a reviewer sends it again, or tells the
consumer another way (a call, a text message, a letter) and records how, which ends it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.actors import Actor
from complaints.models import Case, CaseEvent, Notification
from complaints.services.base import record_event, require_staff

# Long enough for the worker and the relay to get past a short mail outage; well within the
# 7 working days of a termination notice.
NOTICE_FOLLOW_UP_AFTER = timedelta(days=1)
# The queue lists the cases of at most this many notices (oldest first); more means an outage
# to be fixed at the mail server, not case by case.
MAX_FOLLOWED_UP = 1000


def undelivered_notices(now: datetime | None = None) -> QuerySet[CaseEvent]:
    """Consumer notices still owed a day or more after their event, oldest first."""
    now = now or timezone.now()
    return CaseEvent.objects.filter(
        notice_pending=True, at__lt=now - NOTICE_FOLLOW_UP_AFTER
    ).order_by("at", "id")


def undelivered_notice_cases(now: datetime | None = None) -> QuerySet[Case]:
    """The cases of those notices. Their ids are read first, from the index of pending notices,
    and handed to the case query: a handful of look-ups, however many cases there are."""
    ids = set(
        undelivered_notices(now).values_list("case_id", flat=True)[:MAX_FOLLOWED_UP].iterator()
    )
    return Case.objects.filter(pk__in=ids)


def _pending(case: Case) -> list[CaseEvent]:
    """The case's notices still owed; ValidationError if there is none. Locked, as the worker
    locks an event before it sends: a notice is told once, by e-mail or by the reviewer,
    whichever commits first."""
    events = list(
        CaseEvent.objects.select_for_update()
        .filter(case=case, notice_pending=True)
        .order_by("at", "id")
    )
    if not events:
        raise ValidationError(
            _("Case %(code)s has no notice waiting to be delivered.") % {"code": case.tracking_code}
        )
    return events


@transaction.atomic
def notice_told_otherwise(*, case: Case, note: str, actor: Actor) -> int:
    """The reviewer told the consumer another way what the undelivered notices of the case
    said; `note` says how and when. Each notice is marked delivered (the e-mail is not sent
    after it) and the note is kept on the case's timeline. Returns the number of notices."""
    require_staff(actor)
    note = note.strip()
    if not note:
        raise ValidationError({"note": _("Say how and when the consumer was told.")})
    events = _pending(case)
    Notification.objects.bulk_create(
        [Notification(event=event, recipient=Notification.CONSUMER_OTHERWISE) for event in events]
    )
    CaseEvent.objects.filter(pk__in=[event.pk for event in events]).update(notice_pending=False)
    record_event(
        case,
        CaseEvent.Kind.NOTE,
        actor,
        public=False,
        message=note,
        data={"told_otherwise": [event.pk for event in events]},
    )
    return len(events)


@transaction.atomic
def notice_send_again(*, case: Case, actor: Actor) -> int:
    """Queue the e-mail of each undelivered notice of the case again (after commit), however old
    it is: the relay stops after a week. Returns the number of notices queued."""
    from complaints import tasks  # tasks import services

    require_staff(actor)
    events = _pending(case)
    ids = [event.pk for event in events]
    record_event(
        case,
        CaseEvent.Kind.NOTE,
        actor,
        public=False,
        message=_("Undelivered notices e-mailed again."),
        data={"sent_again": ids},
    )
    transaction.on_commit(lambda: [tasks.notify_consumer.delay(pk) for pk in ids], robust=True)
    return len(ids)
