"""Authorities and the referrals delivered to them (standard measures 7 and 8; LCM Art. 12)."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuthorityLevel(models.TextChoices):
    COUNTY = "county", _("County")
    CITY = "city", _("City")
    PROVINCIAL = "provincial", _("Provincial")
    NATIONAL = "national", _("National")


class AuthorityKind(models.TextChoices):
    MARKET_REGULATOR = "market_regulator", _("Market regulator (SAMR)")
    CYBERSPACE = "cyberspace", _("Cyberspace administration (CAC)")
    POLICE = "police", _("Public security")
    COURT = "court", _("Court")
    OTHER = "other", _("Other competent authority")


class Authority(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=AuthorityKind.choices)
    level = models.CharField(_("level"), max_length=12, choices=AuthorityLevel.choices)
    email = models.EmailField(_("email"), blank=True)
    endpoint_url = models.URLField(_("HTTPS endpoint"), max_length=500, blank=True)
    # The secret both sides use to sign and verify dossiers; set in the admin, never shown again.
    shared_secret = models.CharField(_("shared secret"), max_length=128, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("authority")
        verbose_name_plural = _("authorities")
        ordering = ["level", "name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(email="") | ~Q(endpoint_url=""), name="authority_has_channel"
            ),
            models.CheckConstraint(
                condition=Q(endpoint_url="") | ~Q(shared_secret=""),
                name="authority_endpoint_has_secret",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ReferralStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for delivery")
    DELIVERED = "delivered", _("Delivered")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged by the authority")
    FAILED = "failed", _("Delivery failed")
    # The measure was reversed before its referral reached the authority: never sent.
    CANCELLED = "cancelled", _("Cancelled: the measure was reversed")


class ReferralPurpose(models.TextChoices):
    REFERRAL = "referral", _("Referral")
    # The measure was reversed on appeal: every authority that received the referral is told.
    REVERSAL = "reversal", _("Notice of reversal")


class Referral(models.Model):
    """One dossier for one authority: the outbox row that delivers it.

    Written in the measure's execution transaction, delivered by the `notify` worker after
    commit, retried with backoff. The idempotency key goes with every attempt, so an authority
    that received it once and answered too late records it once; and there is never a second
    referral of one measure to one authority.
    """

    measure = models.ForeignKey(
        "enforcement.Measure", on_delete=models.PROTECT, related_name="referrals"
    )
    authority = models.ForeignKey(Authority, on_delete=models.PROTECT, related_name="referrals")
    purpose = models.CharField(
        _("purpose"),
        max_length=10,
        choices=ReferralPurpose.choices,
        default=ReferralPurpose.REFERRAL,
        editable=False,
    )
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=ReferralStatus.choices,
        default=ReferralStatus.PENDING,
        editable=False,
    )
    dossier = models.CharField(_("dossier"), max_length=300, blank=True, editable=False)
    dossier_sha256 = models.CharField(_("dossier SHA-256"), max_length=64, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0, editable=False)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True, editable=False)
    acknowledged_at = models.DateTimeField(
        _("acknowledged at"), null=True, blank=True, editable=False
    )
    acknowledgement = models.CharField(
        _("authority's reference"), max_length=200, blank=True, editable=False
    )
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    last_error = models.TextField(_("last error"), blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        ordering = ["-created_at", "-id"]
        permissions = [("retry_referral", _("Can send a failed referral again"))]
        constraints = [
            models.UniqueConstraint(
                fields=["measure", "authority", "purpose"], name="referral_once_per_authority"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ReferralStatus.values), name="referral_status_valid"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="referral_due_idx",
            ),
            # The leads' queue of deliveries that gave up.
            models.Index(
                fields=["created_at"], condition=Q(status="failed"), name="referral_failed_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.measure} → {self.authority}"
