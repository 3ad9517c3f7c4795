"""What every complaint service shares: the limits, the event row that records each change
(and tells the consumer and the platform), locks and guards, and evidence files that do not
outlive a failed transaction."""

from __future__ import annotations

import functools
import threading
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.actors import Actor
from accounts.services import webhook_emit
from complaints.models import (
    Case,
    CaseEvent,
)
from config.errors import Conflict

ACCEPTANCE_WORKING_DAYS = 7  # SAMR complaint rules Art. 15
MEDIATION_WORKING_DAYS = 45  # SAMR complaint rules Art. 21(5)
MAX_EVIDENCE = 9
# The platform forwards complaints as they are made; anything older is a wrong timestamp.
MAX_FORWARD_AGE = timedelta(days=365)
# A second case from the same contact about the same order or party within this window is
# flagged as a possible duplicate (not refused: the consumer may have something new to say).
DUPLICATE_WINDOW = timedelta(days=30)
# Reporter reputation (LCM Art. 20): flag a contact to a lead once at least this many of their
# cases were found unfounded and they make up at least this share of what they filed.
UNFOUNDED_FLAG_MIN = 3
UNFOUNDED_FLAG_SHARE = 0.5


def resolution_working_days() -> int:
    return settings.COMPLAINT_RESOLUTION_WORKING_DAYS


stored_files = threading.local()


def files_removed_on_failure(function):
    """Evidence pictures are written to storage as their rows are created; when the service fails
    and its transaction rolls back, the pictures it wrote are removed too, so that no personal
    image is left on disk with no row pointing at it."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        outer = getattr(stored_files, "names", None)
        stored_files.names = []
        try:
            return function(*args, **kwargs)
        except BaseException:
            for name in stored_files.names:
                default_storage.delete(name)
            raise
        finally:
            stored_files.names = outer

    return wrapper


# --- Events, notifications and the platform ----------------------------------------------------


def record_event(
    case: Case,
    kind: str,
    actor: Actor,
    *,
    status_changed: bool = False,
    tell_platform: bool = False,
    public: bool = True,
    message: str = "",
    reason: str = "",
    data: dict | None = None,
) -> CaseEvent:
    notify = status_changed or kind == CaseEvent.Kind.REPLY
    event = CaseEvent.objects.create(
        case=case,
        kind=kind,
        status=case.status,
        public=public,
        message=message,
        reason=reason,
        data=data or {},
        notify_consumer=notify,
        notice_pending=notify and bool(case.contact_email_enc),
        **actor.event_fields(),
    )
    if notify:
        from complaints import tasks  # tasks import services

        transaction.on_commit(lambda: tasks.notify_consumer.delay(event.pk))
    if status_changed or tell_platform:
        webhook_emit(
            topic="complaint.status_changed",
            data={
                "tracking_code": case.tracking_code,
                "kind": case.kind,
                "platform_ref": case.platform_ref,
                # The respondents, so that the platform can pass a decision (a termination of
                # mediation: SAMR complaint rules Art. 21) on to them.
                "merchant_id": case.merchant_id,
                "anchor_id": case.anchor_id,
                "status": case.status,
                "outcome": case.outcome,
                "event": kind,
                "at": event.at.isoformat(),
                "acceptance_due": case.acceptance_due.isoformat(),
                "resolution_due": case.resolution_due.isoformat(),
                "mediation_due": case.mediation_due.isoformat() if case.mediation_due else None,
                "deadline_estimated": case.deadline_estimated,
            },
        )
    return event


def in_language(language: str, message: str, **values) -> str:
    with translation.override(language):
        return _(message) % values


def lock_case(case: Case) -> Case:
    return Case.objects.select_for_update().get(pk=case.pk)


def require_status(case: Case, *statuses: str) -> None:
    if case.status not in statuses:
        raise Conflict(
            _("This case is %(status)s; that is not possible now.")
            % {"status": case.get_status_display()}
        )


def require_staff(actor: Actor, perm: str = "complaints.change_case") -> None:
    if actor.user is None or not actor.user.has_perm(perm):
        raise PermissionError(_("You may not handle complaints."))
