"""E-mails about cases: to the consumer at every status change and reply, to the leads when a
case is escalated. Chinese and English templates; the consumer's language is the one they filed in.

Sending is idempotent per event: a `Notification` row is written in the same transaction that
checks for it, so a task delivered twice sends once. (A worker killed after the SMTP server
accepted the message but before the commit can still send it twice; the mail says nothing that
harms by repetition.)
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from accounts.roles import COMPLIANCE_LEAD
from complaints.models import CaseEvent, Notification
from complaints.services import contact_email, tracking_token


def _template_language(language: str) -> str:
    return "en" if language.startswith("en") else "zh-hans"


def tracking_url(case) -> str:
    path = reverse("complaints:track", args=[case.tracking_code, tracking_token(case)])
    return settings.SITE_URL + path


def send_consumer_notice(event_id: int) -> str:
    with transaction.atomic():
        event = CaseEvent.objects.select_for_update().select_related("case").get(pk=event_id)
        if Notification.objects.filter(event=event).exists():
            return "already sent"
        case = event.case
        email = contact_email(case)
        if not email:
            return "no e-mail address"
        language = _template_language(case.language)
        context = {"case": case, "event": event, "tracking_url": tracking_url(case)}
        with translation.override(language):
            subject = render_to_string(
                f"complaints/email/status_changed.{language}.subject.txt", context
            ).strip()
            body = render_to_string(f"complaints/email/status_changed.{language}.txt", context)
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [email])
        Notification.objects.create(event=event, recipient=Notification.CONSUMER)
        CaseEvent.objects.filter(pk=event.pk).update(notice_pending=False)
    return "sent"


def send_lead_notice(event_id: int) -> str:
    from accounts.models import User

    with transaction.atomic():
        event = CaseEvent.objects.select_for_update().select_related("case").get(pk=event_id)
        if Notification.objects.filter(event=event).exists():
            return "already sent"
        leads = list(
            User.objects.filter(groups__name=COMPLIANCE_LEAD.slug, is_active=True)
            .exclude(email="")
            .values_list("email", flat=True)
            .distinct()
        )
        if not leads:
            # Recorded, so that the relay does not try again every few minutes for a week; the
            # case is in the leads' queue either way.
            Notification.objects.create(event=event, recipient="nobody")
            return "no lead with an e-mail address"
        case = event.case
        context = {
            "case": case,
            "event": event,
            "admin_url": settings.SITE_URL
            + reverse("admin:complaints_case_change", args=[case.pk]),
        }
        with translation.override("zh-hans"):
            subject = render_to_string("complaints/email/escalated.subject.txt", context).strip()
            body = render_to_string("complaints/email/escalated.txt", context)
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, leads)
        Notification.objects.create(event=event, recipient=Notification.LEAD)
    return "sent"
