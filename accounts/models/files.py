"""Registration files: the qualification audit every merchant, anchor and agency passes.

One workflow for all three kinds (RULES.md §2; ECL Art. 27, LCM Art. 8): the platform drafts a
file, submits it through the entry checks, a reviewer approves, rejects or asks for changes per
document, and an approved version is sealed -- a snapshot with its hash -- and stays in force
while a later version is reviewed. The kind-specific parts (licences, qualifications, guardian
consent, agency links) live in the `merchants` and `anchors` apps and point at this file.
"""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models.registry import EventRow, Party, PartyKind


class FileStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")  # being prepared by the platform; entry checks not yet run
    SUBMITTED = "submitted", _("Submitted")  # passed the entry checks; waits for a reviewer
    IN_REVIEW = "in_review", _("In review")  # a reviewer has taken it
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")  # sent back, per document
    RESUBMITTED = "resubmitted", _("Resubmitted")  # corrected; waits for a reviewer again
    APPROVED = "approved", _("Approved")  # this version is sealed and in force
    REJECTED = "rejected", _("Rejected")  # refused with reason codes


# Waiting for a reviewer's decision.
AWAITING_REVIEW = (FileStatus.SUBMITTED, FileStatus.RESUBMITTED)
# A reviewer may decide from any of these (deciding from the queue takes the file implicitly).
DECIDABLE = (FileStatus.SUBMITTED, FileStatus.RESUBMITTED, FileStatus.IN_REVIEW)
# The platform may still edit the working version in place.
EDITABLE = (FileStatus.DRAFT, FileStatus.CHANGES_REQUESTED)


class RegistrationFile(models.Model):
    """The working version of a party's registration file, and a pointer to its sealed one.

    Identity numbers of natural persons are stored encrypted (`accounts.crypto`) and found
    through the party's keyed hash; only the masked form is ever shown without a permission.
    """

    party = models.OneToOneField(
        Party, verbose_name=_("party"), on_delete=models.PROTECT, related_name="registration_file"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=PartyKind.choices, editable=False)
    status = models.CharField(
        _("status"),
        max_length=24,
        choices=FileStatus.choices,
        default=FileStatus.DRAFT,
        editable=False,
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    name = models.CharField(_("legal or real name"), max_length=200)
    # Unified social credit code (GB 32100) of a business: public information, kept in clear.
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    # Resident ID number (GB 11643) of a natural person, encrypted with its context.
    id_number_encrypted = models.TextField(blank=True, editable=False)
    id_number_masked = models.CharField(_("ID number"), max_length=18, blank=True, editable=False)
    contact_phone = models.CharField(_("contact phone"), max_length=32)
    contact_email = models.EmailField(_("contact email"), blank=True)
    address = models.CharField(
        _("address"), max_length=300, help_text=_("Actual business address or habitual residence.")
    )

    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True, editable=False)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True, editable=False)
    assigned_to = models.ForeignKey(
        "accounts.User",
        verbose_name=_("reviewer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    sealed_version = models.ForeignKey(
        "accounts.FileVersion",
        verbose_name=_("version in force"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    # LCM Art. 15: a reported change of disclosed information is verified within 7 working days.
    change_review_due = models.DateField(
        _("change review due"), null=True, blank=True, editable=False
    )
    # The due date runs past the known holiday calendar: computed on weekdays, to be checked.
    change_review_due_estimated = models.BooleanField(default=False, editable=False)
    # LCM Art. 8: re-verified at least every 6 months; set when the reminder has gone out.
    reverification_notified_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_check_results = models.JSONField(_("entry check results"), default=list, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("registration file")
        verbose_name_plural = _("registration files")
        ordering = ["-id"]
        permissions = [
            ("review_registrationfile", _("Can approve, reject and request changes")),
            ("reveal_identity", _("Can reveal full identity numbers")),
            ("export_identity_report", _("Can export the half-year identity report")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=FileStatus.values), name="registration_file_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=PartyKind.values), name="registration_file_kind_valid"
            ),
        ]
        indexes = [
            # The review queues: files of one status, oldest submission first.
            models.Index(fields=["status", "submitted_at"], name="regfile_queue_idx"),
            # The change-review-overdue queue.
            models.Index(
                fields=["change_review_due"],
                condition=Q(change_review_due__isnull=False),
                name="regfile_change_due_idx",
            ),
            models.Index(fields=["credit_code"], name="regfile_credit_code_idx"),
            models.Index(fields=["updated_at", "id"], name="regfile_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name} v{self.version}"


class FileVersion(models.Model):
    """A sealed, approved version: the snapshot that was in force, and its SHA-256."""

    file = models.ForeignKey(RegistrationFile, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField(_("version"))
    snapshot = models.JSONField(_("snapshot"), encoder=DjangoJSONEncoder)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    sealed_at = models.DateTimeField(_("sealed at"), default=timezone.now)
    sealed_by = models.CharField(_("sealed by"), max_length=150)

    class Meta:
        verbose_name = _("sealed version")
        verbose_name_plural = _("sealed versions")
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["file", "version"], name="file_version_unique"),
        ]

    def __str__(self) -> str:
        return f"v{self.version} {self.sha256[:12]}"


class DocumentKind(models.TextChoices):
    BUSINESS_LICENCE = "business_licence", _("Business licence")
    ADMINISTRATIVE_LICENCE = "administrative_licence", _("Administrative licence")
    ID_FRONT = "id_front", _("ID card, front")
    ID_BACK = "id_back", _("ID card, back")
    GUARDIAN_CONSENT = "guardian_consent", _("Guardian's signed consent")
    QUALIFICATION = "qualification", _("Professional qualification")
    TRAINING_CERTIFICATE = "training_certificate", _("Training certificate")
    OTHER = "other", _("Other")


class DocumentReview(models.TextChoices):
    PENDING = "pending", _("Not yet reviewed")
    ACCEPTED = "accepted", _("Accepted")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")


class ChangeReason(models.TextChoices):
    EXPIRED = "expired", _("Expired")
    UNREADABLE = "unreadable", _("Unreadable")
    MISMATCH = "mismatch", _("Does not match the file")
    MISSING = "missing", _("Missing")
    OTHER = "other", _("Other")


class FileDocument(models.Model):
    """An uploaded, validated and re-encoded image; stored privately under a random name."""

    file = models.ForeignKey(RegistrationFile, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(_("kind"), max_length=32, choices=DocumentKind.choices)
    version = models.PositiveIntegerField(_("file version"))
    storage_name = models.CharField(max_length=200, editable=False)
    sha256 = models.CharField(_("SHA-256"), max_length=64, editable=False)
    content_type = models.CharField(max_length=32, editable=False)
    width = models.PositiveIntegerField(editable=False)
    height = models.PositiveIntegerField(editable=False)
    size = models.PositiveIntegerField(_("size in bytes"), editable=False)
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now, editable=False)
    uploaded_by = models.CharField(_("uploaded by"), max_length=150, editable=False)
    review = models.CharField(
        _("review"),
        max_length=24,
        choices=DocumentReview.choices,
        default=DocumentReview.PENDING,
        editable=False,
    )
    change_reason = models.CharField(
        _("reason for change"),
        max_length=16,
        choices=ChangeReason.choices,
        blank=True,
        editable=False,
    )
    change_note = models.TextField(_("note to the platform"), blank=True, editable=False)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["file", "kind", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class FileEvent(EventRow):
    """The file's timeline: every transition, document and reveal, with who and why."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Updated")
        DOCUMENT_ADDED = "document_added", _("Document added")
        SUBMITTED = "submitted", _("Submitted")
        CHECKS_FAILED = "checks_failed", _("Entry checks failed")
        TAKEN = "taken", _("Taken for review")
        CHANGES_REQUESTED = "changes_requested", _("Changes requested")
        APPROVED = "approved", _("Approved and sealed")
        REJECTED = "rejected", _("Rejected")
        REVERIFICATION_DUE = "reverification_due", _("Re-verification due")
        IDENTITY_REVEALED = "identity_revealed", _("Identity number revealed")

    file = models.ForeignKey(RegistrationFile, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(_("event"), max_length=32, choices=Kind.choices)
    from_status = models.CharField(_("from"), max_length=24, blank=True)
    to_status = models.CharField(_("to"), max_length=24, blank=True)
    version = models.PositiveIntegerField(_("version"))

    class Meta(EventRow.Meta):
        verbose_name = _("file event")
        verbose_name_plural = _("file events")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} @ {timezone.localtime(self.at):%Y-%m-%d %H:%M}"
