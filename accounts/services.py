"""Every write to the registry, API keys and the webhook outbox goes through these functions."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import roles
from accounts.actors import Actor
from accounts.identity import identity_hash
from accounts.models import (
    ApiKey,
    Party,
    PartyEvent,
    PartyKind,
    Restriction,
    RestrictionKind,
    User,
    WebhookDelivery,
    WebhookEndpoint,
)
from accounts.scopes import SCOPES
from config.errors import Conflict

# --- Parties ---------------------------------------------------------------------------------


@transaction.atomic
def party_register(
    *, kind: str, name: str, identifier: str, platform_ref: str = "", actor: Actor
) -> Party:
    """Add a party to the registry under the keyed hash of its identity number.

    Callers validate the identifier (check characters) first; this only refuses duplicates.
    """
    if kind not in PartyKind.values:
        raise ValidationError({"kind": _("Unknown party kind.")})
    party = Party(
        kind=kind,
        name=name.strip(),
        identity_hash=identity_hash(identifier),
        platform_ref=platform_ref.strip(),
    )
    if (
        party.platform_ref
        and Party.objects.filter(kind=kind, platform_ref=party.platform_ref).exists()
    ):
        raise ValidationError(
            {"platform_ref": _("Another party of this kind has this platform reference.")}
        )
    party.full_clean()  # the unique constraints answer a duplicate identity with a clear error
    try:
        with transaction.atomic():
            party.save()
    except IntegrityError:
        # The same identity registered by a concurrent request between the check and the insert.
        raise ValidationError(
            {"identifier": _("A party with this identity was registered at the same moment.")}
        ) from None
    PartyEvent.objects.create(party=party, kind=PartyEvent.Kind.REGISTERED, **actor.event_fields())
    return party


# --- Restrictions ----------------------------------------------------------------------------

# Called in the same transaction after a restriction is imposed. Apps above this one register
# here what must follow (live rooms take a barred party off the air); this layer cannot import
# them.
_restriction_listeners: list = []


def on_restriction_imposed(listener) -> None:
    if listener not in _restriction_listeners:
        _restriction_listeners.append(listener)


# Called in the same transaction after a restriction is reversed on appeal, which takes it out
# of the party's record (live rooms regrade the rooms that record weighs in).
_reversal_listeners: list = []


def on_restriction_reversed(listener) -> None:
    if listener not in _reversal_listeners:
        _reversal_listeners.append(listener)


@transaction.atomic
def restriction_impose(
    *,
    party: Party,
    kind: str,
    reason: str,
    actor: Actor,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    legal_basis: str = "",
    source: models.Model | None = None,
) -> Restriction:
    if kind not in RestrictionKind.values:
        raise ValidationError({"kind": _("Unknown restriction kind.")})
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for the restriction.")})
    starts_at = starts_at or timezone.now()
    if ends_at is not None and ends_at <= starts_at:
        raise ValidationError({"ends_at": _("The end must be after the start.")})
    restriction = Restriction.objects.create(
        party=party,
        kind=kind,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason.strip(),
        legal_basis=legal_basis,
        source_type=ContentType.objects.get_for_model(source) if source is not None else None,
        source_id=source.pk if source is not None else None,
        created_by=actor.label,
    )
    PartyEvent.objects.create(
        party=party,
        kind=PartyEvent.Kind.RESTRICTION_IMPOSED,
        reason=restriction.reason,
        data={
            "restriction_id": restriction.pk,
            "kind": kind,
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat() if ends_at else None,
            "legal_basis": legal_basis,
        },
        **actor.event_fields(),
    )
    Party.objects.filter(pk=party.pk).update(updated_at=timezone.now())
    for listener in _restriction_listeners:
        listener(restriction)
    return restriction


@transaction.atomic
def restriction_lift(
    *, restriction: Restriction, reason: str, actor: Actor, reversed_on_appeal: bool = False
) -> Restriction:
    """Lift a restriction early (an appeal reversed the measure, or a lead ended it). One an
    appeal reversed is marked so: it leaves the party's record, where one a lead ended stays.

    A compare-and-set on `lifted_at`: of two people lifting at once, exactly one succeeds.
    """
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for lifting the restriction.")})
    now = timezone.now()
    updated = Restriction.objects.filter(pk=restriction.pk, lifted_at__isnull=True).update(
        lifted_at=now,
        lifted_by=actor.label,
        lift_reason=reason.strip(),
        reversed_on_appeal=reversed_on_appeal,
    )
    if updated != 1:
        raise Conflict(_("This restriction has already been lifted."))
    PartyEvent.objects.create(
        party_id=restriction.party_id,
        kind=PartyEvent.Kind.RESTRICTION_LIFTED,
        reason=reason.strip(),
        data={
            "restriction_id": restriction.pk,
            "kind": restriction.kind,
            "reversed_on_appeal": reversed_on_appeal,
        },
        **actor.event_fields(),
    )
    Party.objects.filter(pk=restriction.party_id).update(updated_at=now)
    restriction.refresh_from_db()
    if reversed_on_appeal:
        for listener in _reversal_listeners:
            listener(restriction)
    return restriction


# --- Users and roles -------------------------------------------------------------------------


@transaction.atomic
def user_set_roles(*, user: User, role_slugs: Iterable[str], actor: Actor) -> User:
    """Give a user exactly these roles; staff roles make the user staff (and so need 2FA)."""
    slugs = set(role_slugs)
    unknown = slugs - set(roles.ROLES)
    if unknown:
        raise ValidationError({"roles": _("Unknown roles: %s") % ", ".join(sorted(unknown))})
    user.groups.set(Group.objects.filter(name__in=slugs))
    is_staff = user.is_superuser or any(roles.ROLES[s].is_staff for s in slugs)
    User.objects.filter(pk=user.pk).update(is_staff=is_staff)
    user.is_staff = is_staff
    return user


# --- API keys --------------------------------------------------------------------------------

KEY_PREFIX = "lcc_"


def api_key_digest(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


@transaction.atomic
def api_key_create(
    *, name: str, scopes: Iterable[str], actor: Actor, party: Party | None = None
) -> tuple[ApiKey, str]:
    """Create a key and return it with the raw key, which is shown once and never stored."""
    scopes = sorted(set(scopes))
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise ValidationError({"scopes": _("Unknown scopes: %s") % ", ".join(unknown)})
    if not name.strip():
        raise ValidationError({"name": _("Give the key a name.")})
    if ApiKey.objects.filter(name=name.strip()).exists():
        raise ValidationError({"name": _("A key with this name exists already.")})
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        name=name.strip(),
        prefix=raw[: len(KEY_PREFIX) + 8],
        key_hash=api_key_digest(raw),
        scopes=scopes,
        party=party,
        created_by=actor.label,
    )
    return key, raw


def api_key_revoke(*, key: ApiKey, actor: Actor) -> ApiKey:
    updated = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_by=actor.label
    )
    if updated != 1:
        raise Conflict(_("This key has already been revoked."))
    # This process stops trusting it now; the others within API_KEY_CACHE_SECONDS. Forgetting a
    # key whose revocation then rolls back costs only one look-up.
    from accounts.api.authentication import keys  # the API layer imports this module

    keys.forget(key.key_hash)
    # And again once committed: meanwhile another thread of this process may have read the row
    # as it was before this transaction and cached the key again.
    transaction.on_commit(lambda: keys.forget(key.key_hash))
    key.refresh_from_db()
    return key


# A write per request would put the hot path (the go-live gate) behind a row lock; a minute's
# resolution is enough to tell which keys are still in use.
LAST_USED_RESOLUTION_SECONDS = 60


def api_key_touch(*, key: ApiKey) -> None:
    now = timezone.now()
    if key.last_used_at and (now - key.last_used_at).total_seconds() < LAST_USED_RESOLUTION_SECONDS:
        return
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    key.last_used_at = now


# --- Webhooks --------------------------------------------------------------------------------


def webhook_endpoint_create(
    *, name: str, url: str, topics: Iterable[str] = (), actor: Actor
) -> tuple[WebhookEndpoint, str]:
    """Register the platform's receiver; returns the signing secret, shown once."""
    secret = secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint(name=name.strip(), url=url, secret=secret, topics=sorted(topics))
    endpoint.full_clean()
    endpoint.save()
    return endpoint, secret


def webhook_emit(*, topic: str, data: dict) -> uuid.UUID:
    """Record an event for every endpoint that wants it, in the caller's transaction.

    Delivery is queued only after the transaction commits: an event about a change that rolled
    back is never sent, and an event about a committed change is never lost (the relay picks up
    anything whose message went missing).
    """
    from accounts import tasks  # tasks import services; imported here to keep that one-way

    now = timezone.now()
    event_id = uuid.uuid4()  # one event, the same id at every endpoint
    endpoints = [e for e in WebhookEndpoint.objects.filter(is_active=True) if e.wants(topic)]
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            event_id=event_id, endpoint=e, topic=topic, payload=data, next_attempt_at=now
        )
        for e in endpoints
    )
    for delivery in deliveries:
        transaction.on_commit(lambda pk=delivery.pk: tasks.deliver_webhook.delay(pk))
    return event_id


def webhook_delivery_requeue(*, delivery: WebhookDelivery, actor: Actor) -> None:
    """Give a failed delivery another round of attempts (the receiver is back)."""
    from accounts import tasks

    updated = WebhookDelivery.objects.filter(
        pk=delivery.pk, status=WebhookDelivery.Status.FAILED
    ).update(
        status=WebhookDelivery.Status.PENDING,
        attempts=0,
        next_attempt_at=timezone.now(),
        last_error=f"requeued by {actor.label}",
    )
    if updated != 1:
        raise Conflict(_("Only a failed delivery can be sent again."))
    transaction.on_commit(lambda: tasks.deliver_webhook.delay(delivery.pk))
