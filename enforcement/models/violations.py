"""Violations, the measures taken for them, and their timelines."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import EventRow
from enforcement.models.catalogue import (
    PUBLIC_NOTICE_MEASURES,
    SEVERE_BEYOND_TERM,
    SEVERE_MEASURES,
    SEVERE_TERM_DAYS,
    MeasureKind,
)


class ViolationStatus(models.TextChoices):
    SUSPECTED = "suspected", _("Suspected")  # raised by a complaint or an inspection, to triage
    CONFIRMED = "confirmed", _("Confirmed")
    DISMISSED = "dismissed", _("Dismissed")


class ViolationSource(models.TextChoices):
    COMPLAINT = "complaint", _("Complaint or report")
    INSPECTION = "inspection", _("Patrol inspection")
    ALERT = "alert", _("Monitoring alert")
    REVIEWER = "reviewer", _("Reviewer's own finding")
    AUTHORITY = "authority", _("Authority notice")


class Violation(models.Model):
    """A party's breach of a rule in the catalogue, with the facts and the evidence."""

    party = models.ForeignKey(
        "accounts.Party",
        verbose_name=_("party"),
        on_delete=models.PROTECT,
        related_name="violations",
    )
    # Null only while suspected: triage chooses the type when it confirms.
    type = models.ForeignKey(
        "enforcement.ViolationType",
        verbose_name=_("violation type"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="violations",
    )
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=ViolationStatus.choices,
        default=ViolationStatus.SUSPECTED,
        editable=False,
    )
    source = models.CharField(_("source"), max_length=12, choices=ViolationSource.choices)
    facts = models.TextField(_("facts"))
    occurred_at = models.DateTimeField(_("occurred at"), null=True, blank=True)
    session = models.ForeignKey(
        "liverooms.LiveSession",
        verbose_name=_("live session"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="violations",
    )
    # What raised it; each of these is also listed among the evidence.
    case = models.ForeignKey(
        "complaints.Case",
        verbose_name=_("complaint"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="violations",
    )
    inspection = models.ForeignKey(
        "liverooms.Inspection",
        verbose_name=_("inspection"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="violations",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    created_by = models.CharField(_("created by"), max_length=150, editable=False)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True, editable=False)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    dismissed_reason = models.TextField(_("reason for dismissal"), blank=True, editable=False)

    class Meta:
        verbose_name = _("violation")
        verbose_name_plural = _("violations")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ViolationStatus.values), name="violation_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="confirmed") | Q(type__isnull=False),
                name="violation_confirmed_has_type",
            ),
            # A complaint or an inspection raises one suspected violation, however often the
            # listener runs.
            models.UniqueConstraint(
                fields=["case", "party"],
                condition=Q(case__isnull=False) & Q(source="complaint"),
                name="violation_once_per_case",
            ),
            models.UniqueConstraint(
                fields=["inspection", "party"],
                condition=Q(inspection__isnull=False) & Q(source="inspection"),
                name="violation_once_per_inspection",
            ),
        ]
        indexes = [
            models.Index(fields=["party", "-created_at"], name="violation_party_idx"),
            models.Index(
                fields=["created_at"],
                condition=Q(status="suspected"),
                name="violation_triage_idx",
            ),
        ]

    def __str__(self) -> str:
        label = self.type.name if self.type_id else self.get_status_display()
        return f"V{self.pk} · {label}"


class EvidenceKind(models.TextChoices):
    FILE = "file", _("Uploaded file")
    COMPLAINT = "complaint", _("Complaint or report")
    ALERT = "alert", _("Monitoring alert")
    INSPECTION = "inspection", _("Inspection")
    LINK = "link", _("Platform record")


class Evidence(models.Model):
    """One item of evidence. Files are stored once with their SHA-256 digest, which the referral
    dossier lists so that an authority can verify what it receives."""

    violation = models.ForeignKey(Violation, on_delete=models.PROTECT, related_name="evidence")
    kind = models.CharField(_("kind"), max_length=12, choices=EvidenceKind.choices)
    description = models.CharField(_("description"), max_length=300)
    file = models.CharField(_("file"), max_length=300, blank=True, editable=False)
    file_name = models.CharField(_("file name"), max_length=200, blank=True, editable=False)
    content_type = models.CharField(max_length=100, blank=True, editable=False)
    size = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True, editable=False)
    case = models.ForeignKey(
        "complaints.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    alert = models.ForeignKey(
        "liverooms.Alert", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    inspection = models.ForeignKey(
        "liverooms.Inspection", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reference = models.CharField(_("platform reference"), max_length=200, blank=True)
    added_at = models.DateTimeField(_("added at"), default=timezone.now, editable=False)
    added_by = models.CharField(_("added by"), max_length=150, editable=False)

    class Meta:
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        ordering = ["added_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=EvidenceKind.values), name="evidence_kind_valid"
            ),
            models.CheckConstraint(
                condition=~Q(kind="file") | ~Q(sha256=""), name="evidence_file_has_digest"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.description}"


class ViolationEvent(EventRow):
    """The violation's timeline, and the evidence's chain of custody."""

    class Kind(models.TextChoices):
        RAISED = "raised", _("Raised")
        EVIDENCE_ADDED = "evidence_added", _("Evidence added")
        CONFIRMED = "confirmed", _("Confirmed")
        DISMISSED = "dismissed", _("Dismissed")

    violation = models.ForeignKey(Violation, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(_("event"), max_length=24, choices=Kind.choices)

    class Meta(EventRow.Meta):
        verbose_name = _("violation event")
        verbose_name_plural = _("violation events")


class MeasureStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    REJECTED = "rejected", _("Rejected")  # the approver refused it
    APPROVED = "approved", _("Approved")
    EXECUTING = "executing", _("Executing")  # a worker is carrying it out (deductions)
    EXECUTED = "executed", _("Executed")
    FAILED = "failed", _("Failed")
    APPEALED = "appealed", _("Under appeal")
    UPHELD = "upheld", _("Upheld on appeal")
    REVERSED = "reversed", _("Reversed on appeal")
    LIFTED = "lifted", _("Lifted")  # its term ended, or the party corrected in time


# In effect: the party lives under it (restrictions in force, a notice running).
IN_EFFECT = (MeasureStatus.EXECUTED, MeasureStatus.APPEALED, MeasureStatus.UPHELD)
# Standing: on its way or in effect. A violation has at most one standing measure of each kind,
# so that a double submit or two reviewers at once cannot deduct or refer twice.
STANDING = (
    MeasureStatus.PROPOSED,
    MeasureStatus.APPROVED,
    MeasureStatus.EXECUTING,
    *IN_EFFECT,
)


class Measure(models.Model):
    """One step of the disposal ladder taken against a party for a violation."""

    violation = models.ForeignKey(Violation, on_delete=models.PROTECT, related_name="measures")
    party = models.ForeignKey(
        "accounts.Party", verbose_name=_("party"), on_delete=models.PROTECT, related_name="measures"
    )
    kind = models.CharField(_("measure"), max_length=24, choices=MeasureKind.choices)
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=MeasureStatus.choices,
        default=MeasureStatus.PROPOSED,
        editable=False,
    )
    # The statement of reasons' public identifier (DSA "puid"): random, never reused.
    puid = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    reason = models.TextField(
        _("statement of facts and reasons"),
        help_text=_("What the party did and why this measure: sent to the party as written."),
    )
    # Terms. Empty term_days on a term measure that allows it means indefinitely.
    term_days = models.PositiveIntegerField(_("term (days)"), null=True, blank=True)
    starts_at = models.DateTimeField(_("starts at"), null=True, blank=True, editable=False)
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True, editable=False)
    correct_by = models.DateField(_("correct by"), null=True, blank=True)
    corrected_at = models.DateTimeField(_("corrected at"), null=True, blank=True, editable=False)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True, editable=False)
    amount_fen = models.PositiveBigIntegerField(_("amount (fen)"), null=True, blank=True)
    products = models.ManyToManyField(
        "merchants.Product", verbose_name=_("products"), blank=True, related_name="measures"
    )
    # The platform's ids of content to remove or block (clips, listings' pages, posts).
    content_refs = models.JSONField(_("content"), default=list, blank=True)
    authorities = models.ManyToManyField(
        "enforcement.Authority", verbose_name=_("authorities"), blank=True, related_name="+"
    )
    # Proportionality: what the catalogue proposes, and why this departs from it.
    departs_from_default = models.BooleanField(
        _("departs from the catalogue"), default=False, editable=False
    )
    departure_reason = models.TextField(_("reason for departing"), blank=True)
    severe = models.BooleanField(_("needs a lead's approval"), default=False, editable=False)
    automated_detection = models.BooleanField(_("detected automatically"), default=False)

    proposed_at = models.DateTimeField(_("proposed at"), default=timezone.now, editable=False)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("proposed by"),
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    decided_at = models.DateTimeField(_("approved or rejected at"), null=True, editable=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved or rejected by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    decision_note = models.TextField(_("approval note"), blank=True, editable=False)
    executed_at = models.DateTimeField(_("executed at"), null=True, blank=True, editable=False)
    failure_reason = models.TextField(_("failure"), blank=True, editable=False)
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True, editable=False)
    statement_sent_at = models.DateTimeField(
        _("statement sent at"), null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("measure")
        verbose_name_plural = _("measures")
        ordering = ["-proposed_at", "-id"]
        permissions = [
            ("approve_measure", _("Can approve severe measures")),
            ("execute_measure", _("Can execute approved measures")),
            ("export_sanctions", _("Can export sanctions for the regulators")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=MeasureKind.values), name="measure_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=MeasureStatus.values), name="measure_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(kind="deposit_deduction") | Q(amount_fen__gt=0),
                name="measure_deduction_positive",
            ),
            models.CheckConstraint(
                condition=~Q(departs_from_default=True) | ~Q(departure_reason=""),
                name="measure_departure_explained",
            ),
            # STANDING: one measure of a kind per violation until it is rejected, fails, is
            # reversed or lifted.
            models.UniqueConstraint(
                fields=["violation", "kind"],
                condition=Q(
                    status__in=[
                        "proposed",
                        "approved",
                        "executing",
                        "executed",
                        "appealed",
                        "upheld",
                    ]
                ),
                name="measure_once_per_violation",
            ),
        ]
        indexes = [
            models.Index(fields=["party", "-proposed_at"], name="measure_party_idx"),
            models.Index(
                fields=["proposed_at"], condition=Q(status="proposed"), name="measure_queue_idx"
            ),
            # The public notices page and the regulators' export: newest executed first.
            models.Index(
                fields=["-executed_at", "-id"],
                condition=Q(executed_at__isnull=False),
                name="measure_executed_idx",
            ),
            # The leads' queue of notices to correct whose date has passed.
            models.Index(
                fields=["correct_by"],
                condition=Q(kind="notice_to_correct", corrected_at__isnull=True),
                name="measure_correction_due_idx",
            ),
            # The expiry sweep: measures in effect whose term has ended.
            models.Index(
                fields=["ends_at"],
                condition=Q(status__in=["executed", "appealed", "upheld"]),
                name="measure_expiry_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"M{self.pk} · {self.get_kind_display()} · {self.party}"

    @staticmethod
    def needs_lead(kind: str, term_days: int | None) -> bool:
        if kind in SEVERE_MEASURES:
            return True
        if kind in SEVERE_BEYOND_TERM:
            return term_days is None or term_days > SEVERE_TERM_DAYS
        return False

    @property
    def is_public(self) -> bool:
        return self.kind in PUBLIC_NOTICE_MEASURES


class MeasureEvent(EventRow):
    class Kind(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        EXECUTION_STARTED = "execution_started", _("Execution started")
        EXECUTED = "executed", _("Executed")
        FAILED = "failed", _("Failed")
        STATEMENT_SENT = "statement_sent", _("Statement of reasons sent")
        CORRECTED = "corrected", _("Corrected")
        ESCALATED = "escalated", _("Correction overdue: escalated")
        APPEALED = "appealed", _("Appealed")
        UPHELD = "upheld", _("Upheld on appeal")
        REVERSED = "reversed", _("Reversed on appeal")
        LIFTED = "lifted", _("Lifted")

    measure = models.ForeignKey(Measure, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(_("event"), max_length=24, choices=Kind.choices)

    class Meta(EventRow.Meta):
        verbose_name = _("measure event")
        verbose_name_plural = _("measure events")


class AppealStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("appeal", "Pending")
    UPHELD = "upheld", _("Upheld")  # the measure stands
    REVERSED = "reversed", _("Reversed")


class Appeal(models.Model):
    """A party's appeal against one measure; one per measure (DSA Art. 20; LCM Art. 14)."""

    class Channel(models.TextChoices):
        API = "api", _("Platform API")
        WEB = "web", _("Web form")
        STAFF = "staff", _("Recorded by staff")

    measure = models.OneToOneField(Measure, on_delete=models.PROTECT, related_name="appeal")
    channel = models.CharField(_("filed through"), max_length=8, choices=Channel.choices)
    grounds = models.TextField(_("grounds"))
    contact = models.CharField(_("contact"), max_length=200, blank=True)
    filed_at = models.DateTimeField(_("filed at"), default=timezone.now, editable=False)
    filed_by = models.CharField(_("filed by"), max_length=150, editable=False)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=AppealStatus.choices,
        default=AppealStatus.PENDING,
        editable=False,
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True, editable=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=pgettext_lazy("person", "decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    decision_reason = models.TextField(_("reasons for the decision"), blank=True, editable=False)

    class Meta:
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        ordering = ["filed_at", "id"]
        permissions = [("decide_appeal", _("Can decide appeals"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=AppealStatus.values), name="appeal_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="pending") | ~Q(decision_reason=""),
                name="appeal_decision_explained",
            ),
        ]
        indexes = [
            models.Index(
                fields=["filed_at"], condition=Q(status="pending"), name="appeal_queue_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{_('Appeal')} · {self.measure}"
