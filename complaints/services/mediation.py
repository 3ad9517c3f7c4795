"""The end of mediation: a complaint in handling with no agreement 45 working days after it was
accepted is decided as referred to 12315 (SAMR complaint rules Art. 21(5)), and both sides are
told (Art. 21, last paragraph: within 7 working days of the termination).

The telling rides on the decision's event, as every status change does: the consumer's e-mail
is owed by the event row itself (`notify_consumer`, relayed until a `Notification` says it was
sent) and the platform's `complaint.status_changed` webhook, naming the respondent, is an outbox
row written in the same transaction (relayed and retried until delivered). Both are queued when
the decision commits, so they go out the same day unless the mail server or the platform is
down for days; the respondent also reads the event on the case through its own API key.
"""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from accounts.actors import Actor
from complaints.models import Case, CaseEvent, CaseKind, CaseStatus, Outcome
from complaints.services.base import MEDIATION_WORKING_DAYS, in_language
from complaints.services.deadlines import dues_up_to_date
from complaints.services.handling import apply_decision

LEGAL_BASIS = "SAMR complaint rules Art. 21(5)"
# The decision's text, stored in the consumer's language (they and the respondent read it).
TERMINATION_NOTE = gettext_noop(
    "No mediation agreement was reached within %(days)d working days of accepting the "
    "complaint, so mediation has ended (SAMR complaint rules Art. 21(5)). The consumer may take "
    "the dispute to the market regulator through 12315 (www.12315.cn or telephone 12315)."
)


def mediation_expired_cases(today: date | None = None):
    """Complaints in handling whose mediation period ended before today (the due date is the
    last day of the 45; a case waiting for an appraisal or the consumer is not in handling, and
    its due date moves on when it resumes). Reports are not mediated."""
    today = today or timezone.localdate()
    return Case.objects.filter(
        kind=CaseKind.COMPLAINT, status=CaseStatus.ACCEPTED, mediation_due__lt=today
    )


def end_expired_mediations(*, actor: Actor, today: date | None = None, batch: int = 500) -> int:
    """End mediation for every complaint whose period ran out without a decision; returns how
    many were ended. Each case is decided in its own transaction, so a run that stops half-way
    (a time limit, a restart) keeps what it did and the next run does the rest.

    Not ended (yet):
    - a case a reviewer is working on at this moment (its row is locked): skipped rather than
      waited for, as the reviewer may be deciding it; if it is still in handling, the next run
      ends it;
    - a due date counted past the published holiday calendar (`deadline_estimated`), or one the
      calendar no longer gives (staff entered or corrected holidays since): an estimate can fall
      days early (an unentered Spring Festival counts as working days), and a consumer's
      mediation must not be cut short on it. `refresh_deadlines` sets the true date and a later
      run ends the case; meanwhile it is in the workbench's overdue and mediation queues.
    """
    today = today or timezone.localdate()
    pending = mediation_expired_cases(today).filter(deadline_estimated=False)
    ended, after = 0, 0
    while True:
        # Batches in id order from where the last one stopped: a skipped case is not read again
        # in the same run.
        ids = list(pending.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            return ended
        after = ids[-1]
        for pk in ids:
            with transaction.atomic():
                # Checked again under the lock: decided, paused or withdrawn since the list was
                # read, it no longer matches.
                case = pending.select_for_update(skip_locked=True).filter(pk=pk).first()
                if case is None or not dues_up_to_date(case):
                    continue
                apply_decision(
                    case,
                    outcome=Outcome.REFERRED_12315,
                    note=in_language(case.language, TERMINATION_NOTE, days=MEDIATION_WORKING_DAYS),
                    actor=actor,
                    kind=CaseEvent.Kind.MEDIATION_ENDED,
                    data={
                        "legal_basis": LEGAL_BASIS,
                        "accepted_on": timezone.localdate(case.accepted_at).isoformat(),
                        "mediation_due": case.mediation_due.isoformat(),
                        "paused_working_days": case.paused_days_after_acceptance,
                    },
                )
                ended += 1
