"""The notification outbox: the e-mails the enforcement app owes someone.

A notification is recorded in the transaction that makes it due (a severe measure proposed, a
correction overdue, an appeal filed or decided, a reconciliation that found differences) and
queued for the `notify` worker after that transaction commits. The worker sends it and marks it
handled in one transaction that holds its row, so a worker killed between the two sends it again
and it is never lost; a notification whose message was lost (a worker killed before publishing
it, a Redis restart) is queued again by the relay.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class NotificationKind(models.TextChoices):
    APPROVAL_REQUESTED = "approval_requested", _("Severe measure waiting for approval")
    NOTICE_OVERDUE = "notice_overdue", _("Correction overdue")
    APPEAL_FILED = "appeal_filed", _("Appeal filed")
    APPEAL_DECIDED = "appeal_decided", _("Appeal decided (to the party)")
    RECONCILIATION_FAILED = "reconciliation_failed", _("Ledger reconciliation found differences")


# The admin page (URL name) of what each kind of notification is about: the link in a lead's
# e-mail and in the outbox's list.
ABOUT = {
    NotificationKind.APPROVAL_REQUESTED: "admin:enforcement_measure_change",
    NotificationKind.NOTICE_OVERDUE: "admin:enforcement_measure_change",
    NotificationKind.APPEAL_FILED: "admin:enforcement_appeal_change",
    NotificationKind.APPEAL_DECIDED: "admin:enforcement_appeal_change",
    NotificationKind.RECONCILIATION_FAILED: "admin:enforcement_reconciliation_change",
}


class Notification(models.Model):
    kind = models.CharField(_("kind"), max_length=24, choices=NotificationKind.choices)
    # The measure, appeal or reconciliation it is about, by kind (ABOUT).
    object_id = models.PositiveBigIntegerField(_("about"))
    created_at = models.DateTimeField(_("due since"), default=timezone.now, editable=False)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    handled_at = models.DateTimeField(_("handled"), null=True, blank=True)
    # "sent", or why nothing was sent ("no longer due", "no e-mail address"); while unhandled,
    # the last attempt's failure.
    outcome = models.CharField(_("outcome"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            # Each event is notified once: recording it again is a no-op.
            models.UniqueConstraint(fields=["kind", "object_id"], name="notification_once"),
        ]
        indexes = [
            # The relay's question: what is still unhandled, oldest first.
            models.Index(
                fields=["created_at"],
                condition=Q(handled_at__isnull=True),
                name="notification_unhandled",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.object_id}"

    def about_url(self) -> str:
        return reverse(ABOUT[self.kind], args=[self.object_id])
