"""Referrals to authorities: the dossier, and its delivery through the outbox.

The dossier is a ZIP archive: `dossier.json` (facts, the party's registration file as the
platform holds it -- identity numbers masked --, the party's measures, the evidence list with
SHA-256 digests, and the chain of custody), a readable `dossier.html`, the evidence files
themselves, `manifest.json` (the digest of every other member) and `signature.txt`, an
HMAC-SHA256 of the manifest under the authority's shared secret (or, for an authority reached by
e-mail only, the platform's dossier key). An authority verifies the signature, then each digest.

Delivery is the webhook outbox's pattern: a compare-and-set claim with a lease, the request
outside any transaction, backoff with jitter, and the relay for lost messages. Every attempt
carries the referral's idempotency key, so an authority that answered too late records it once.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import io
import json
import logging
import smtplib
import time
import urllib.error
import urllib.request
import zipfile
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.mail import EmailMessage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from accounts.actors import Actor
from accounts.webhooks import backoff_seconds, sign
from config.errors import Conflict
from enforcement.models import (
    Evidence,
    Measure,
    MeasureEvent,
    MeasureStatus,
    Referral,
    ReferralPurpose,
    ReferralStatus,
    ViolationEvent,
)
from enforcement.services.base import require_person

logger = logging.getLogger(__name__)

LEASE_SECONDS = 180
# Dossiers are built so that their bytes depend only on their content: members in a fixed order
# with a fixed timestamp, so a rebuilt dossier has the same digest.
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)


def refer(*, measure: Measure, actor: Actor, purpose: str = ReferralPurpose.REFERRAL) -> list:
    """Create one referral per authority of the measure, in the caller's transaction, and queue
    each for delivery after commit. A referral that exists already is not made twice.

    The evidence is checked against its digests here, so that a proposal whose files changed on
    disk is refused at approval; the dossier itself is built by the worker from what committed
    (`ensure_dossier`), so that a rolled-back approval leaves no file behind.
    """
    from enforcement import tasks

    check_evidence(measure)
    created = []
    for authority in measure.authorities.all():
        referral, made = Referral.objects.get_or_create(
            measure=measure, authority=authority, purpose=purpose
        )
        if made:
            transaction.on_commit(lambda pk=referral.pk: tasks.deliver_referral.delay(pk))
            created.append(referral)
    return created


# A referral an authority has received: it is told of a reversal.
RECEIVED = (ReferralStatus.DELIVERED, ReferralStatus.ACKNOWLEDGED)


def cancel_undelivered(*, measure: Measure) -> int:
    """The measure is being reversed: its referrals still waiting or given up on are never
    sent. (One in flight right now is caught when it lands: see `_landed_after_cancel`.)"""
    return Referral.objects.filter(
        measure=measure,
        purpose=ReferralPurpose.REFERRAL,
        status__in=[ReferralStatus.PENDING, ReferralStatus.FAILED],
    ).update(status=ReferralStatus.CANCELLED)


def notify_reversal(*, measure: Measure, actor: Actor) -> list:
    """Tell every authority that received a referral of this measure that it was reversed."""
    created = []
    for referral in Referral.objects.filter(
        measure=measure, purpose=ReferralPurpose.REFERRAL, status__in=RECEIVED
    ).select_related("authority"):
        notice = _notice_of_reversal(measure, referral.authority)
        if notice is not None:
            created.append(notice)
    return created


def _notice_of_reversal(measure: Measure, authority) -> Referral | None:
    """One notice of reversal per authority, queued for delivery after commit."""
    from enforcement import tasks

    notice, made = Referral.objects.get_or_create(
        measure=measure, authority=authority, purpose=ReferralPurpose.REVERSAL
    )
    if not made:
        return None
    transaction.on_commit(lambda: tasks.deliver_referral.delay(notice.pk))
    return notice


def check_evidence(measure: Measure) -> None:
    """Every evidence file still has the digest recorded when it was added."""
    for item in Evidence.objects.filter(violation=measure.violation).exclude(file=""):
        with default_storage.open(item.file, "rb") as handle:
            if _digest(handle) != item.sha256:
                raise ValidationError(
                    _("Evidence %(id)s does not match its digest: it cannot be referred.")
                    % {"id": item.pk}
                )


def _digest(handle) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: handle.read(1 << 20), b""):
        digest.update(chunk)
    return digest.hexdigest()


def ensure_dossier(referral: Referral) -> Referral:
    """Build and store the dossier once; the referral keeps its name and digest from then on."""
    if referral.dossier:
        return referral
    data = build_dossier(referral)
    name = default_storage.save(f"referrals/{referral.idempotency_key}.zip", ContentFile(data))
    stored = Referral.objects.filter(pk=referral.pk, dossier="").update(
        dossier=name, dossier_sha256=hashlib.sha256(data).hexdigest()
    )
    if stored != 1:
        default_storage.delete(name)  # another attempt stored its copy first
    referral.refresh_from_db()
    return referral


# --- the dossier ----------------------------------------------------------------------------------


def _registration(party) -> dict:
    file = getattr(party, "registration_file", None)
    if file is None:
        return {}
    return {
        "name": file.name,
        "kind": file.kind,
        "status": file.status,
        "version": file.version,
        "credit_code": file.credit_code,
        # The ID number is sensitive personal information (PIPL Art. 28): the authority asks
        # the platform for it through its own channel; the dossier carries it masked.
        "id_number": file.id_number_masked,
        "address": getattr(file, "address", ""),
        "contact_phone": file.contact_phone,
        "contact_email": file.contact_email,
    }


def dossier_data(referral: Referral) -> dict:
    measure = referral.measure
    violation = measure.violation
    vtype = violation.type
    evidence = list(Evidence.objects.filter(violation=violation).order_by("id"))
    custody = [
        {
            "at": e.at,
            "actor": e.actor_label,
            "event": e.kind,
            "reason": e.reason,
            "data": e.data,
        }
        for e in ViolationEvent.objects.filter(violation=violation).order_by("at", "id")
    ] + [
        {
            "at": e.at,
            "actor": e.actor_label,
            "event": f"measure.{e.kind}",
            "reason": e.reason,
            "data": e.data,
        }
        for e in MeasureEvent.objects.filter(measure=measure).order_by("at", "id")
    ]
    return {
        "idempotency_key": str(referral.idempotency_key),
        "purpose": referral.purpose,
        "authority": {"name": referral.authority.name, "level": referral.authority.level},
        "platform": settings.SITE_URL,
        "party": {
            "id": measure.party_id,
            "kind": measure.party.kind,
            "kind_label": str(measure.party.get_kind_display()),
            "name": measure.party.name,
            "platform_ref": measure.party.platform_ref,
            "registration_file": _registration(measure.party),
        },
        "violation": {
            "id": violation.pk,
            "type": vtype.code,
            "type_version": vtype.version,
            "type_name": vtype.name,
            "severity": vtype.severity,
            "legal_basis": vtype.legal_basis,
            "facts": violation.facts,
            "occurred_at": violation.occurred_at,
            "confirmed_at": violation.confirmed_at,
            "source": violation.source,
            "source_label": str(violation.get_source_display()),
        },
        "measure": {
            "id": measure.pk,
            "puid": str(measure.puid),
            "kind": measure.kind,
            "kind_label": str(measure.get_kind_display()),
            "status": measure.status,
            "status_label": str(measure.get_status_display()),
            "reason": measure.reason,
            "proposed_at": measure.proposed_at,
            "decided_at": measure.decided_at,
        },
        "measures": [
            {
                "id": m.pk,
                "kind": m.kind,
                "kind_label": str(m.get_kind_display()),
                "status": m.status,
                "status_label": str(m.get_status_display()),
                "executed_at": m.executed_at,
                "ends_at": m.ends_at,
                "amount_fen": m.amount_fen,
            }
            for m in Measure.objects.filter(party=measure.party).order_by("proposed_at", "id")
        ],
        "evidence": [
            {
                "id": e.pk,
                "kind": e.kind,
                "kind_label": str(e.get_kind_display()),
                "description": e.description,
                "file": f"evidence/{e.pk}-{e.file.rsplit('/', 1)[-1]}" if e.file else None,
                "sha256": e.sha256 or None,
                "size": e.size,
                "reference": e.reference
                or (e.case.tracking_code if e.case_id else "")
                or (f"alert:{e.alert_id}" if e.alert_id else "")
                or (f"inspection:{e.inspection_id}" if e.inspection_id else ""),
                "added_at": e.added_at,
                "added_by": e.added_by,
            }
            for e in evidence
        ],
        "chain_of_custody": custody,
    }


def _signing_secret(referral: Referral) -> tuple[str, str]:
    if referral.authority.shared_secret:
        return referral.authority.shared_secret, "authority"
    return salted_hmac(
        "enforcement.dossier", "platform", algorithm="sha256"
    ).hexdigest(), "platform"


def build_dossier(referral: Referral) -> bytes:
    # The dossier is for a Chinese authority: labels in Chinese beside the codes.
    with translation.override("zh-hans"):
        data = dossier_data(referral)
    members: list[tuple[str, bytes]] = [
        (
            "dossier.json",
            json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).encode(),
        )
    ]
    with translation.override("zh-hans"):
        members.append(
            ("dossier.html", render_to_string("enforcement/dossier.html", {"d": data}).encode())
        )
    for item in Evidence.objects.filter(violation=referral.measure.violation).exclude(file=""):
        with default_storage.open(item.file, "rb") as handle:
            content = handle.read()
        if hashlib.sha256(content).hexdigest() != item.sha256:
            # The stored file no longer matches what was recorded: never send it as evidence.
            raise ValidationError(_("Evidence %(id)s does not match its digest.") % {"id": item.pk})
        members.append((f"evidence/{item.pk}-{item.file.rsplit('/', 1)[-1]}", content))
    manifest = {
        "idempotency_key": str(referral.idempotency_key),
        "files": {name: hashlib.sha256(content).hexdigest() for name, content in members},
    }
    manifest_bytes = json.dumps(manifest, sort_keys=True, indent=2).encode()
    secret, key_name = _signing_secret(referral)
    signature = hmac.new(secret.encode(), manifest_bytes, hashlib.sha256).hexdigest()
    members.append(("manifest.json", manifest_bytes))
    members.append(("signature.txt", f"hmac-sha256;key={key_name};{signature}\n".encode()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return buffer.getvalue()


def verify_dossier(data: bytes, secret: str) -> bool:
    """What an authority does: the signature over the manifest, then every member's digest."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest_bytes = archive.read("manifest.json")
        _scheme, _key, signature = archive.read("signature.txt").decode().strip().split(";")
        expected = hmac.new(secret.encode(), manifest_bytes, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return False
        manifest = json.loads(manifest_bytes)
        for name, digest in manifest["files"].items():
            if hashlib.sha256(archive.read(name)).hexdigest() != digest:
                return False
        names = set(archive.namelist()) - {"manifest.json", "signature.txt"}
        return names == set(manifest["files"])


# --- delivery ------------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _send_http(referral: Referral, body: bytes) -> tuple[int | None, str, str]:
    authority = referral.authority
    request = urllib.request.Request(  # noqa: S310 - an admin-configured authority endpoint
        authority.endpoint_url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/zip",
            "User-Agent": "livecommerce-compliance-referrals/1",
            "Idempotency-Key": str(referral.idempotency_key),
            "X-Referral-Purpose": referral.purpose,
            "X-Content-SHA256": referral.dossier_sha256,
            "X-Signature": sign(authority.shared_secret, int(time.time()), body),
        },
    )
    try:
        with _opener.open(request, timeout=settings.REFERRAL_TIMEOUT_SECONDS) as response:
            reply = response.read(4096)
            reference = ""
            # An authority that answers {"reference": "..."} has acknowledged it, too.
            with contextlib.suppress(ValueError, AttributeError):
                reference = str(json.loads(reply or b"{}").get("reference", ""))[:200]
            return response.status, "", reference
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}", ""
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        return None, f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}", ""


def _one_line(text: str) -> str:
    """Text fit for a mail header: no line breaks or other control characters (a party's name
    is the platform's data, and a newline in a header is refused -- or worse, obeyed)."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def _send_email(referral: Referral, body: bytes) -> tuple[int | None, str, str]:
    measure = referral.measure
    subject = (
        f"[{referral.idempotency_key}] "
        + (
            _("Referral")
            if referral.purpose == ReferralPurpose.REFERRAL
            else _("Notice of reversal")
        )
        + f": {_one_line(measure.party.name)} · {measure.get_kind_display()}"
    )
    message = EmailMessage(
        subject=subject,
        body=_(
            "The signed dossier is attached. Verify signature.txt against manifest.json with the "
            "shared key, then each file's SHA-256. Idempotency key: %(key)s"
        )
        % {"key": referral.idempotency_key},
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[referral.authority.email],
        headers={"Idempotency-Key": str(referral.idempotency_key)},
    )
    message.attach(f"dossier-{referral.idempotency_key}.zip", body, "application/zip")
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as exc:  # the mail server's answer, or none
        return None, f"{type(exc).__name__}: {exc}", ""
    except Exception as exc:  # any other failure to hand the mail over is retried too
        # Only its name: a header or encoding error quotes the subject, with the party's name,
        # and the error is kept on the referral and logged.
        return None, type(exc).__name__, ""
    return 250, "", ""


def attempt(referral_id: int) -> str:
    """One attempt at one referral. Safe to call twice at once: the claim lets one through."""
    now = timezone.now()
    claimed = Referral.objects.filter(
        pk=referral_id, status=ReferralStatus.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=now + timedelta(seconds=LEASE_SECONDS), attempts=F("attempts") + 1)
    if claimed != 1:
        return "not_due"
    referral = Referral.objects.select_related("authority", "measure__party").get(pk=referral_id)
    if referral.purpose == ReferralPurpose.REFERRAL and referral.measure.status == (
        MeasureStatus.REVERSED
    ):
        Referral.objects.filter(pk=referral_id, status=ReferralStatus.PENDING).update(
            status=ReferralStatus.CANCELLED
        )
        return "cancelled"
    if referral.attempts > settings.REFERRAL_MAX_ATTEMPTS:
        Referral.objects.filter(pk=referral_id, status=ReferralStatus.PENDING).update(
            status=ReferralStatus.FAILED,
            last_error=(referral.last_error or "attempts did not finish")[:1000],
        )
        return "failed"
    try:
        referral = ensure_dossier(referral)
    except ValidationError as exc:
        # Evidence changed on disk after approval: never send it; a person must look.
        Referral.objects.filter(pk=referral_id, status=ReferralStatus.PENDING).update(
            status=ReferralStatus.FAILED, last_error="; ".join(exc.messages)[:1000]
        )
        return "failed"
    size = default_storage.size(referral.dossier)
    if not referral.authority.endpoint_url and size > settings.REFERRAL_EMAIL_MAX_BYTES:
        # No mail server takes it however often it is sent: a person must choose another way.
        Referral.objects.filter(pk=referral_id, status=ReferralStatus.PENDING).update(
            status=ReferralStatus.FAILED,
            last_error=_(
                "The dossier is %(size).1f MB, more than e-mail carries (%(limit).1f MB): give "
                "the authority an HTTPS endpoint, or deliver the dossier another way."
            )
            % {"size": size / 2**20, "limit": settings.REFERRAL_EMAIL_MAX_BYTES / 2**20},
        )
        return "failed"
    with default_storage.open(referral.dossier, "rb") as handle:
        body = handle.read()
    if referral.authority.endpoint_url:
        status_code, error, reference = _send_http(referral, body)
    else:
        status_code, error, reference = _send_email(referral, body)
    if status_code is not None and (200 <= status_code < 300 or status_code == 250):
        now = timezone.now()
        fields = {
            "status": ReferralStatus.ACKNOWLEDGED if reference else ReferralStatus.DELIVERED,
            "delivered_at": now,
            "last_status_code": status_code if status_code != 250 else None,
            "last_error": "",
        }
        if reference:
            fields.update(acknowledged_at=now, acknowledgement=reference)
        updated = Referral.objects.filter(pk=referral_id, status=ReferralStatus.PENDING).update(
            **fields
        )
        if updated != 1:
            _landed_after_cancel(referral, fields)
        return "delivered"
    gave_up = referral.attempts >= settings.REFERRAL_MAX_ATTEMPTS
    Referral.objects.filter(pk=referral_id, status=ReferralStatus.PENDING).update(
        status=ReferralStatus.FAILED if gave_up else ReferralStatus.PENDING,
        next_attempt_at=timezone.now() + timedelta(seconds=backoff_seconds(referral.attempts)),
        last_status_code=status_code,
        last_error=error[:1000],
    )
    logger.warning(
        "referral %s to %s failed (attempt %s): %s",
        referral_id,
        referral.authority.name,
        referral.attempts,
        error,
    )
    return "failed" if gave_up else "retry"


@transaction.atomic
def _landed_after_cancel(referral: Referral, fields: dict) -> None:
    """The measure was reversed while this referral was on its way, and the reversal cancelled
    it: the authority has it all the same. Record the delivery, and tell it of the reversal."""
    landed = Referral.objects.filter(pk=referral.pk, status=ReferralStatus.CANCELLED).update(
        **fields
    )
    if landed == 1 and referral.purpose == ReferralPurpose.REFERRAL:
        _notice_of_reversal(referral.measure, referral.authority)


def due(*, limit: int = 500) -> list[int]:
    """Pending referrals whose attempt is due: the relay re-queues them (a lost message, a worker
    killed mid-attempt once its lease has run out)."""
    return list(
        Referral.objects.filter(status=ReferralStatus.PENDING, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


@transaction.atomic
def requeue(*, referral: Referral, actor: Actor) -> None:
    from enforcement import tasks

    require_person(actor, "enforcement.retry_referral")
    reversed_measure = Referral.objects.filter(
        pk=referral.pk,
        purpose=ReferralPurpose.REFERRAL,
        measure__status=MeasureStatus.REVERSED,
    ).exists()
    if reversed_measure:
        raise Conflict(_("The measure was reversed on appeal: its referral is not sent."))
    updated = Referral.objects.filter(pk=referral.pk, status=ReferralStatus.FAILED).update(
        status=ReferralStatus.PENDING,
        attempts=0,
        next_attempt_at=timezone.now(),
        last_error=f"requeued by {actor.label}",
    )
    if updated != 1:
        raise Conflict(_("Only a failed referral can be sent again."))
    transaction.on_commit(lambda: tasks.deliver_referral.delay(referral.pk))


@transaction.atomic
def acknowledge(*, referral: Referral, reference: str, actor: Actor) -> Referral:
    """The authority confirmed receipt through its own channel; a lead records it."""
    require_person(actor, "enforcement.change_referral")
    if not reference.strip():
        raise ValidationError({"reference": _("Give the authority's reference.")})
    updated = Referral.objects.filter(pk=referral.pk, status=ReferralStatus.DELIVERED).update(
        status=ReferralStatus.ACKNOWLEDGED,
        acknowledged_at=timezone.now(),
        acknowledgement=reference.strip()[:200],
    )
    if updated != 1:
        raise Conflict(_("Only a delivered referral can be acknowledged."))
    referral.refresh_from_db()
    return referral
