"""E-mails of the enforcement app: statements of reasons to the party, and the leads' notices
(approvals waiting, corrections overdue, appeals, reconciliation differences).

Sent by the `notify` worker. A statement is marked sent in the transaction that holds the
measure's lock while it is sent: a worker killed between the two sends it again (the statement is
the same), never not at all.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from accounts.actors import Actor
from accounts.roles import COMPLIANCE_LEAD

LEAD_NOTICES = {
    "approval_requested": ("enforcement.measure", "enforcement_measure_change"),
    "notice_overdue": ("enforcement.measure", "enforcement_measure_change"),
    "appeal_filed": ("enforcement.appeal", "enforcement_appeal_change"),
    "reconciliation_failed": ("enforcement.reconciliation", "enforcement_reconciliation_change"),
}


def _queue(kind: str, pk: int) -> None:
    from enforcement import tasks

    tasks.notify.delay(kind, pk)


def approval_requested(measure_id: int) -> None:
    _queue("approval_requested", measure_id)


def notice_overdue(measure_id: int) -> None:
    _queue("notice_overdue", measure_id)


def appeal_filed(appeal_id: int) -> None:
    _queue("appeal_filed", appeal_id)


def appeal_decided(appeal_id: int) -> None:
    _queue("appeal_decided", appeal_id)


def _party_email(party) -> str:
    file = getattr(party, "registration_file", None)
    return (file.contact_email if file is not None else "") or ""


def _lead_emails() -> list[str]:
    from accounts.models import User

    return list(
        User.objects.filter(groups__name=COMPLIANCE_LEAD.slug, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
    )


def _still_due(kind: str, pk: int) -> bool:
    """A notice about something already dealt with (approved in the meantime, an appeal decided)
    is not sent: the worker may run it minutes later."""
    from enforcement.models import Appeal, Measure

    if kind == "approval_requested":
        return Measure.objects.filter(pk=pk, status="proposed").exists()
    if kind == "notice_overdue":
        return Measure.objects.filter(pk=pk, corrected_at__isnull=True).exists()
    if kind == "appeal_filed":
        return Appeal.objects.filter(pk=pk, status="pending").exists()
    return True


def send(kind: str, pk: int) -> str:
    if kind == "appeal_decided":
        return _appeal_decided(pk)
    if kind not in LEAD_NOTICES:
        raise ValueError(f"unknown notice {kind!r}")
    if not _still_due(kind, pk):
        return "no longer due"
    leads = _lead_emails()
    if not leads:
        return "no lead with an e-mail address"
    _model, url_name = LEAD_NOTICES[kind]
    context = {
        "kind": kind,
        "pk": pk,
        "admin_url": settings.SITE_URL.rstrip("/") + reverse(f"admin:{url_name}", args=[pk]),
    }
    with translation.override("zh-hans"):
        subject = render_to_string("enforcement/email/lead.subject.txt", context).strip()
        body = render_to_string("enforcement/email/lead.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, leads)
    return "sent"


def _appeal_decided(appeal_id: int) -> str:
    from enforcement.models import Appeal
    from enforcement.services import statements

    appeal = Appeal.objects.select_related("measure__party", "measure__violation__type").get(
        pk=appeal_id
    )
    email = _party_email(appeal.measure.party)
    if not email:
        return "no e-mail address"
    parts = []
    for language in statements.LANGUAGES:
        with translation.override(language):
            parts.append(
                render_to_string(
                    f"enforcement/email/appeal_decided.{language}.txt",
                    {"appeal": appeal, "measure": appeal.measure},
                )
            )
    with translation.override("zh-hans"):
        subject = render_to_string(
            "enforcement/email/appeal_decided.subject.txt", {"appeal": appeal}
        ).strip()
    send_mail(subject, "\n\n".join(parts), settings.DEFAULT_FROM_EMAIL, [email])
    return "sent"


def send_statement(measure_id: int) -> str:
    from enforcement.models import Measure, MeasureEvent
    from enforcement.services import statements
    from enforcement.services.base import measure_event

    with transaction.atomic():
        measure = (
            # The measure's row only (violation__type is an outer join PostgreSQL cannot lock).
            Measure.objects.select_for_update(of=("self",))
            .select_related("party", "violation__type")
            .filter(pk=measure_id)
            .first()
        )
        if measure is None or measure.statement_sent_at is not None:
            return "already sent"
        if measure.executed_at is None:
            return "not executed"
        texts = {
            language: statements.render(measure, language) for language in statements.LANGUAGES
        }
        email = _party_email(measure.party)
        if email:
            with translation.override("zh-hans"):
                subject = render_to_string(
                    "enforcement/email/statement.subject.txt", {"measure": measure}
                ).strip()
            send_mail(
                subject,
                texts["zh-hans"] + "\n\n----------\n\n" + texts["en"],
                settings.DEFAULT_FROM_EMAIL,
                [email],
            )
        measure.statement_sent_at = timezone.now()
        measure.save(update_fields=["statement_sent_at"])
        measure_event(
            measure,
            MeasureEvent.Kind.STATEMENT_SENT,
            Actor.system("enforcement.send_statement"),
            # The platform also has it, in the measure.executed webhook; the e-mail is the copy
            # the party keeps.
            email=bool(email),
            statement_url=statements.statement_url(measure),
        )
    return "sent" if email else "recorded (no e-mail address)"
