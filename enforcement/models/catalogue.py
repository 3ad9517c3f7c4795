"""The catalogue of violation types: the negative behaviours of RULES.md §3 and the measures each
allows, as versioned data.

A type is identified by its `code`; every change is a new version. A published version is never
edited -- violations point at the exact version they were judged under, so a later change to the
catalogue does not rewrite old decisions. Publishing a version retires the one before it.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Severity(models.TextChoices):
    MINOR = "minor", _("Minor")
    GENERAL = "general", _("General")
    SERIOUS = "serious", _("Serious")
    SEVERE = "severe", _("Severe")


class MeasureKind(models.TextChoices):
    """The disposal ladder: the seed standard's eight measures (RULES.md §5) and LCM Art. 12's
    catalogue, roughly in order of gravity."""

    WARNING = "warning", _("Warning")  # LCM Art. 12
    NOTICE_TO_CORRECT = "notice_to_correct", _("Notice to correct")  # standard 1
    REMOVE_CONTENT = "remove_content", _("Remove or block content and goods")  # standard 2
    RESTRICT_LISTING = "restrict_listing", _("Restrict listings and content")  # standard 3
    TRAFFIC_RESTRICTION = "traffic_restriction", _("Traffic restriction")  # LCM Art. 12
    LIVE_SUSPENSION = "live_suspension", _("Live suspension")  # standard 4; LCM Art. 12
    FIXED_TERM_BAN = "fixed_term_ban", _("Fixed-term ban")  # LCM Art. 12
    DEPOSIT_DEDUCTION = "deposit_deduction", _("Deposit deduction")  # standard 5
    ACCOUNT_CANCELLATION = "account_cancellation", _("Account cancellation or removal")  # std 6
    RE_REGISTRATION_BAN = "re_registration_ban", _("Ban on re-registration")  # LCM Art. 12
    BLACKLIST = "blacklist", _("Blacklisting")  # LCM Arts. 12, 14
    REFER_AUTHORITY = "refer_authority", _("Referral to the authorities")  # standard 7
    REFER_JUDICIARY = "refer_judiciary", _("Referral to the judiciary")  # standard 8


# Measures that run for a term (a start and an end, or indefinitely where allowed).
TERM_MEASURES = {
    MeasureKind.RESTRICT_LISTING,
    MeasureKind.TRAFFIC_RESTRICTION,
    MeasureKind.LIVE_SUSPENSION,
    MeasureKind.FIXED_TERM_BAN,
    MeasureKind.RE_REGISTRATION_BAN,
    MeasureKind.BLACKLIST,
}
# A term is required: a fixed-term ban has one by definition; a blacklisted party is told the
# duration and the listing is lifted when it ends (LCM Art. 14).
TERM_REQUIRED = {
    MeasureKind.RESTRICT_LISTING,
    MeasureKind.TRAFFIC_RESTRICTION,
    MeasureKind.FIXED_TERM_BAN,
    MeasureKind.BLACKLIST,
}
# Always severe: a second person, a compliance lead who did not propose it, approves (the issue's
# four-eyes rule).
SEVERE_MEASURES = {
    MeasureKind.FIXED_TERM_BAN,
    MeasureKind.DEPOSIT_DEDUCTION,
    MeasureKind.ACCOUNT_CANCELLATION,
    MeasureKind.RE_REGISTRATION_BAN,
    MeasureKind.BLACKLIST,
    MeasureKind.REFER_AUTHORITY,
    MeasureKind.REFER_JUDICIARY,
}
# The other term measures are severe when their term runs beyond SEVERE_TERM_DAYS or is
# indefinite: a month's restriction or suspension is a light step, a longer one is not.
SEVERE_BEYOND_TERM = {
    MeasureKind.RESTRICT_LISTING,
    MeasureKind.TRAFFIC_RESTRICTION,
    MeasureKind.LIVE_SUSPENSION,
}
SEVERE_TERM_DAYS = 30
# Published on the public notice page (ECL Art. 36: warnings, suspensions and terminations).
PUBLIC_NOTICE_MEASURES = {
    MeasureKind.WARNING,
    MeasureKind.LIVE_SUSPENSION,
    MeasureKind.FIXED_TERM_BAN,
    MeasureKind.ACCOUNT_CANCELLATION,
    MeasureKind.BLACKLIST,
}
# Reported to the provincial regulator as well as the county's (LCM Art. 12).
PROVINCIAL_MEASURES = {
    MeasureKind.ACCOUNT_CANCELLATION,
    MeasureKind.RE_REGISTRATION_BAN,
    MeasureKind.BLACKLIST,
}
REFERRAL_MEASURES = {MeasureKind.REFER_AUTHORITY, MeasureKind.REFER_JUDICIARY}


class CatalogueStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    RETIRED = "retired", _("Retired")


class ViolationType(models.Model):
    """One version of a negative behaviour: severity, legal basis, measures, credit impact."""

    code = models.SlugField(_("code"), max_length=64)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=CatalogueStatus.choices,
        default=CatalogueStatus.DRAFT,
        editable=False,
    )
    name = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices)
    legal_basis = models.CharField(
        _("legal basis"), max_length=300, help_text=_("The articles that forbid the behaviour.")
    )
    # The measures a reviewer may propose for this behaviour, and the ones proposed by default.
    allowed_measures = models.JSONField(_("allowed measures"), default=list)
    default_measures = models.JSONField(_("default measures"), default=list)
    default_term_days = models.PositiveIntegerField(_("default term (days)"), null=True, blank=True)
    # The policy's ceiling for one deduction; a larger amount is refused.
    max_deduction_fen = models.PositiveBigIntegerField(
        _("largest deduction (fen)"), null=True, blank=True
    )
    default_deduction_fen = models.PositiveBigIntegerField(
        _("default deduction (fen)"), null=True, blank=True
    )
    # Points the credit rule set deducts for a confirmed violation of this type (issue 7's credit
    # events read it).
    credit_points = models.PositiveIntegerField(_("credit points deducted"), default=0)
    # DSA statement of reasons: the category and whether the ground is illegality or the terms.
    dsa_category = models.CharField(_("DSA category"), max_length=64, blank=True)
    illegal = models.BooleanField(
        _("illegal (not only against the platform's terms)"), default=True
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    created_by = models.CharField(_("created by"), max_length=150, editable=False)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True, editable=False)
    published_by = models.CharField(_("published by"), max_length=150, blank=True, editable=False)

    class Meta:
        verbose_name = _("violation type")
        verbose_name_plural = _("violation types")
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="violation_type_version"),
            # At most one version of a type in force.
            models.UniqueConstraint(
                fields=["code"],
                condition=Q(status="published"),
                name="violation_type_one_published",
            ),
            models.CheckConstraint(
                condition=Q(severity__in=Severity.values), name="violation_type_severity_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=CatalogueStatus.values), name="violation_type_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} (v{self.version})"

    @property
    def is_editable(self) -> bool:
        return self.status == CatalogueStatus.DRAFT
