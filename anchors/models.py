"""Anchor and agency files, beyond the common file (accounts.RegistrationFile).

LCM Art. 8 ¶2: an anchor gives name, ID number, habitual residence, contact, agency,
professional qualifications and job title before the first stream. 2021 Measures Art. 17 and the
Minors Protection Law Art. 76: no live-publishing account under 16; 16-17 only with a guardian's
consent. LCM Art. 10: trained before the first stream and every year. LCM Arts. 38-45: an anchor
belongs to at most one agency at a time; agencies verify their anchors and their merchants.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import FileDocument, Party, RegistrationFile


class Sex(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")


class Topic(models.TextChoices):
    """Live topics that need a filed professional qualification (网络主播行为规范 2022)."""

    MEDICINE = "medicine", _("Medicine and health")
    FINANCE = "finance", _("Finance")
    LAW = "law", _("Law")
    EDUCATION = "education", _("Education")


class AnchorProfile(models.Model):
    file = models.OneToOneField(
        RegistrationFile, on_delete=models.CASCADE, related_name="anchor_profile"
    )
    # Derived from the ID number (GB 11643), never typed in separately.
    birth_date = models.DateField(_("birth date"))
    sex = models.CharField(_("sex"), max_length=8, choices=Sex.choices)
    job_title = models.CharField(_("job title"), max_length=100, blank=True)
    topics = models.JSONField(_("regulated topics"), default=list, blank=True)
    # LCM Art. 37: an AI-generated presenter is labelled and someone answers for it.
    is_ai_presenter = models.BooleanField(_("AI-generated presenter"), default=False)
    ai_operator = models.ForeignKey(
        Party,
        verbose_name=_("operated by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ai_presenters",
    )

    class Meta:
        verbose_name = _("anchor profile")
        verbose_name_plural = _("anchor profiles")
        constraints = [
            models.CheckConstraint(
                condition=Q(is_ai_presenter=False) | Q(ai_operator__isnull=False),
                name="ai_presenter_has_operator",
            ),
        ]

    def __str__(self) -> str:
        return self.file.name


class GuardianConsent(models.Model):
    """A guardian's consent for an anchor aged 16 or 17."""

    file = models.OneToOneField(
        RegistrationFile, on_delete=models.CASCADE, related_name="guardian_consent"
    )
    guardian_name = models.CharField(_("guardian's name"), max_length=100)
    relation = models.CharField(_("relation"), max_length=50)
    guardian_id_encrypted = models.TextField(editable=False)
    guardian_id_masked = models.CharField(_("guardian's ID number"), max_length=18, editable=False)
    document = models.ForeignKey(
        FileDocument,
        verbose_name=_("signed consent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("guardian consent")
        verbose_name_plural = _("guardian consents")

    def __str__(self) -> str:
        return f"{self.guardian_name} ({self.relation})"


class Qualification(models.Model):
    file = models.ForeignKey(
        RegistrationFile, on_delete=models.CASCADE, related_name="qualifications"
    )
    topic = models.CharField(_("topic"), max_length=16, choices=Topic.choices)
    name = models.CharField(_("qualification"), max_length=100)
    number = models.CharField(_("certificate number"), max_length=64)
    document = models.ForeignKey(
        FileDocument,
        verbose_name=_("certificate"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("qualification")
        verbose_name_plural = _("qualifications")

    def __str__(self) -> str:
        return f"{self.get_topic_display()}: {self.name}"


class TrainingKind(models.TextChoices):
    BEFORE_FIRST_STREAM = "before_first_stream", _("Before the first stream")  # LCM Art. 10
    ANNUAL = "annual", _("Annual")  # LCM Art. 10: every year


class TrainingRecord(models.Model):
    anchor = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="training_records")
    kind = models.CharField(_("kind"), max_length=24, choices=TrainingKind.choices)
    completed_on = models.DateField(_("completed on"))
    provider = models.CharField(_("provider"), max_length=200)
    hours = models.DecimalField(_("hours"), max_digits=5, decimal_places=1)
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)
    recorded_by = models.CharField(max_length=150, editable=False)

    class Meta:
        verbose_name = _("training record")
        verbose_name_plural = _("training records")
        ordering = ["-completed_on"]
        indexes = [models.Index(fields=["anchor", "-completed_on"], name="training_latest_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.completed_on}"


class AgencyMembership(models.Model):
    """An anchor managed by an agency, for a period. At most one current agency per anchor."""

    anchor = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="agency_memberships")
    agency = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="managed_anchors")
    started_at = models.DateTimeField(_("since"), default=timezone.now)
    ended_at = models.DateTimeField(_("until"), null=True, blank=True)

    class Meta:
        verbose_name = _("agency membership")
        verbose_name_plural = _("agency memberships")
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["anchor"],
                condition=Q(ended_at__isnull=True),
                name="one_current_agency_per_anchor",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.anchor} @ {self.agency}"


class AgencyMerchant(models.Model):
    """A merchant an agency works with (and has verified, LCM Art. 42)."""

    agency = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="agency_merchants")
    merchant = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="agencies")
    started_at = models.DateTimeField(_("since"), default=timezone.now)
    ended_at = models.DateTimeField(_("until"), null=True, blank=True)

    class Meta:
        verbose_name = _("agency merchant")
        verbose_name_plural = _("agency merchants")
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "merchant"],
                condition=Q(ended_at__isnull=True),
                name="one_current_link_per_agency_merchant",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agency} ↔ {self.merchant}"
