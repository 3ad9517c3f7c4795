"""Users, the registry of regulated parties and their restrictions, API keys and webhooks.

Everything else in the product points at `Party`: registration files, live rooms, complaints,
violations, measures and credit all concern one merchant, anchor or agency.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.contrib.auth.models import AbstractUser
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """Staff (reviewers, leads, auditors, liaisons) and public accounts.

    Custom from the first migration so that fields can be added without swapping the user model.
    Roles are groups declared in `accounts.roles`.
    """

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        verbose_name = _("user")
        verbose_name_plural = _("users")


class PartyKind(models.TextChoices):
    MERCHANT = "merchant", _("Merchant")  # the seller and live-room operator (LCM Art. 8)
    ANCHOR = "anchor", _("Anchor")  # live marketer, 直播营销人员 (LCM Art. 8 ¶2)
    AGENCY = "agency", _("Agency")  # MCN or live service agency (LCM Arts. 38-45)


class Party(models.Model):
    """One regulated merchant, anchor or agency.

    The identity (ID number or credit code) is never stored here in plaintext: `identity_hash` is
    its keyed hash (`accounts.identity`), which is all the registry needs to find duplicates and
    banned identities. The encrypted number itself lives in the registration file.
    """

    kind = models.CharField(_("kind"), max_length=16, choices=PartyKind.choices)
    name = models.CharField(_("name"), max_length=200)
    identity_hash = models.CharField(_("identity hash"), max_length=64, editable=False)
    platform_ref = models.CharField(
        _("platform reference"),
        max_length=64,
        blank=True,
        help_text=_("The platform's own identifier for this party."),
    )
    # Copied from the registration file when a version is sealed, so that the go-live gate can
    # answer "approved and not overdue for re-verification" from this row alone.
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True, editable=False)
    reverification_due_at = models.DateTimeField(
        _("re-verification due"), null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("party")
        verbose_name_plural = _("parties")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=PartyKind.values), name="party_kind_valid"),
            # One registry row per identity and role; the same person may be anchor and merchant.
            models.UniqueConstraint(fields=["kind", "identity_hash"], name="party_identity_unique"),
            models.UniqueConstraint(
                fields=["kind", "platform_ref"],
                condition=~Q(platform_ref=""),
                name="party_platform_ref_unique",
            ),
        ]
        indexes = [
            # Entry checks look an identity up across kinds (a banned merchant registering as
            # an anchor); the unique constraint's index leads with kind, so this one is needed.
            models.Index(fields=["identity_hash"], name="party_identity_hash_idx"),
            # ?updated_after= on the API, newest first.
            models.Index(fields=["updated_at", "id"], name="party_updated_idx"),
            # The platform's reference typed whole into a search (the unique constraint's index
            # leads with kind).
            models.Index(fields=["platform_ref"], name="party_platform_ref_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name}"


class EventRow(models.Model):
    """Common columns of every append-only event table: who, when, why, with what parameters."""

    at = models.DateTimeField(_("at"), default=timezone.now, editable=False, db_index=True)
    actor_user = models.ForeignKey(
        "accounts.User",
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # "user:alice", "api:platform-prod" or "system:<task>": readable even if the user is gone.
    actor_label = models.CharField(_("actor"), max_length=150)
    reason = models.TextField(_("reason"), blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        abstract = True
        ordering = ["at", "id"]


class PartyEvent(EventRow):
    """The party's timeline in the registry: registration and restrictions."""

    class Kind(models.TextChoices):
        REGISTERED = "registered", _("Registered")
        RESTRICTION_IMPOSED = "restriction_imposed", _("Restriction imposed")
        RESTRICTION_LIFTED = "restriction_lifted", _("Restriction lifted")

    party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(_("event"), max_length=32, choices=Kind.choices)

    class Meta(EventRow.Meta):
        verbose_name = _("party event")
        verbose_name_plural = _("party events")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} @ {timezone.localtime(self.at):%Y-%m-%d %H:%M}"


class RestrictionKind(models.TextChoices):
    LIVE = "live", _("Live streaming")  # may not go live: suspension or ban (LCM Art. 12)
    LISTING = "listing", _("Listing")  # may not publish goods or content (standard measure 3)
    TRAFFIC = "traffic", _("Traffic")  # traffic restriction (LCM Art. 12)
    ACCOUNT = "account", _("Account")  # account cancelled or business removed (standard measure 6)
    RE_REGISTRATION = "re_registration", _("Re-registration")  # identity may not register again
    BLACKLIST = "blacklist", _("Blacklist")  # blacklisted for a term (LCM Art. 14)


class RestrictionQuerySet(models.QuerySet):
    def in_force(self, at: datetime | None = None) -> RestrictionQuerySet:
        at = at or timezone.now()
        return self.filter(lifted_at__isnull=True, starts_at__lte=at).filter(
            Q(ends_at__isnull=True) | Q(ends_at__gt=at)
        )


class Restriction(models.Model):
    """A limit on what a party may do, from a start to an optional end.

    Restrictions are imposed and lifted through `accounts.services` -- by enforcement measures and
    their appeals -- and are read by the go-live gate and the entry checks.
    """

    party = models.ForeignKey(
        Party, verbose_name=_("party"), on_delete=models.PROTECT, related_name="restrictions"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=RestrictionKind.choices)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(
        _("ends at"), null=True, blank=True, help_text=_("Empty for an indefinite restriction.")
    )
    reason = models.TextField(_("reason"))
    legal_basis = models.CharField(_("legal basis"), max_length=200, blank=True)
    # What caused it -- a measure, usually. Generic so that this lowest layer need not import the
    # apps above it.
    source_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source_id = models.PositiveBigIntegerField(null=True, blank=True)
    source = GenericForeignKey("source_type", "source_id")
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    created_by = models.CharField(_("created by"), max_length=150)
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)
    lifted_by = models.CharField(_("lifted by"), max_length=150, blank=True)
    lift_reason = models.TextField(_("reason for lifting"), blank=True)
    # Lifted because an appeal reversed the measure that imposed it: no longer part of the
    # party's record (a live room's compliance record, liverooms.services.rooms_regrade).
    reversed_on_appeal = models.BooleanField(_("reversed on appeal"), default=False)

    objects = RestrictionQuerySet.as_manager()

    class Meta:
        verbose_name = _("restriction")
        verbose_name_plural = _("restrictions")
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=RestrictionKind.values), name="restriction_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at")),
                name="restriction_ends_after_start",
            ),
        ]
        indexes = [
            # The go-live gate and the entry checks ask "what is in force for this party?" on
            # every decision; lifted rows are history and stay out of the index.
            models.Index(
                fields=["party", "kind"],
                condition=Q(lifted_at__isnull=True),
                name="restriction_unlifted_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.party}"

    def is_in_force(self, at: datetime | None = None) -> bool:
        at = at or timezone.now()
        return (
            self.lifted_at is None
            and self.starts_at <= at
            and (self.ends_at is None or self.ends_at > at)
        )


class ApiKey(models.Model):
    """A key for one of the platform's systems. Only its SHA-256 digest is stored.

    Keys are 256 bits from `secrets`, so a fast hash is enough: there is nothing to brute-force,
    unlike a password. A key bound to a party sees only that party's objects.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(_("scopes"), default=list)
    party = models.ForeignKey(
        Party,
        verbose_name=_("bound to party"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="api_keys",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    created_by = models.CharField(_("created by"), max_length=150, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    revoked_by = models.CharField(_("revoked by"), max_length=150, blank=True, editable=False)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class WebhookEndpoint(models.Model):
    """Where the platform receives our events (`party.approved`, `live.terminate`, ...)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    url = models.URLField(_("URL"), max_length=500)
    # The shared secret both sides use for the HMAC signature; shown once when created.
    secret = models.CharField(_("signing secret"), max_length=128, editable=False)
    topics = models.JSONField(
        _("topics"), default=list, blank=True, help_text=_("Empty means every topic.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def wants(self, topic: str) -> bool:
        return not self.topics or topic in self.topics


class WebhookDelivery(models.Model):
    """One event for one endpoint: the transactional outbox for webhooks.

    Written in the same transaction as the change it reports, delivered by the worker after
    commit, retried with backoff, and re-queued by the relay if its message is lost. Receivers
    de-duplicate on `event_id`: delivery is at-least-once, the effect exactly once.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")  # waiting for its first or next attempt
        DELIVERED = "delivered", _("Delivered")  # the endpoint answered 2xx
        FAILED = "failed", _("Failed")  # gave up after the maximum number of attempts

    event_id = models.UUIDField(_("event id"), default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        verbose_name=_("endpoint"),
        on_delete=models.PROTECT,
        related_name="deliveries",
    )
    topic = models.CharField(_("topic"), max_length=64)
    payload = models.JSONField(_("payload"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(
        _("last status code"), null=True, blank=True
    )
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "delivered", "failed"]),
                name="webhook_delivery_status_valid",
            ),
            # Never two deliveries of one event to one endpoint.
            models.UniqueConstraint(
                fields=["event_id", "endpoint"], name="webhook_delivery_once_per_endpoint"
            ),
        ]
        indexes = [
            # The relay's query: pending deliveries whose next attempt is due.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="webhook_delivery_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.topic} → {self.endpoint} ({self.get_status_display()})"
