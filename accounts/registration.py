"""The review workflow of registration files, for merchants, anchors and agencies alike.

    draft ──submit──▶ submitted ──take──▶ in_review ──approve──▶ approved (sealed)
      ▲                   │                  │  └────reject────▶ rejected
      │                   └──── decide ──────┤
      │                                      └──request changes──▶ changes_requested
      └── a change to an approved or rejected file opens a new version ◀──┘ resubmit ▶ resubmitted

Every transition is a compare-and-set on (status, version), so of two reviewers deciding the same
file at once exactly one wins; each writes a FileEvent in the same transaction and, where the
platform must know, a webhook through the outbox. The apps that own the kind-specific parts
register a `FileKind` so that sealing and the entry checks see them.
"""

from __future__ import annotations

import calendar
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import crypto, services, uploads
from accounts.actors import Actor
from accounts.entry_checks import Candidate, Failure, run_entry_checks
from accounts.identity import identity_hash
from accounts.models import (
    ChangeReason,
    DocumentKind,
    DocumentReview,
    FileDocument,
    FileEvent,
    FileStatus,
    FileVersion,
    Party,
    RegistrationFile,
)
from accounts.models.files import AWAITING_REVIEW, DECIDABLE, EDITABLE
from config.errors import Conflict

# LCM Art. 8: merchants' files are re-verified at least every 6 months.
REVERIFICATION_MONTHS = 6
# LCM Art. 15: the platform verifies reported changes within 7 working days.
CHANGE_REVIEW_WORKING_DAYS = 7
# The checks that can be answered before a file exists; the rest wait for submission.
CREATION_CHECKS = ("identity_banned", "duplicate_identity")
ID_NUMBER_CONTEXT = "registration_file.id_number"

# Fields of the file the platform may change; identity is not among them (a new identity is a
# new party).
UPDATABLE_FIELDS = ("name", "contact_phone", "contact_email", "address")


class RejectReason:
    # Lazy: translated when shown, in the viewer's language, not once at import.
    CHOICES = {
        "identity_mismatch": gettext_lazy("The identity does not match the documents"),
        "forged_document": gettext_lazy("A document appears forged or altered"),
        "banned": gettext_lazy("The party is banned or blacklisted"),
        "underage": gettext_lazy("The anchor is under the minimum age"),
        "incomplete": gettext_lazy("Required information is still missing"),
        "other": gettext_lazy("Other reason (see the text)"),
    }


class EntryChecksFailed(Exception):
    def __init__(self, failures: list[Failure]):
        self.failures = failures
        super().__init__("; ".join(f.code for f in failures))


# --- kind-specific parts -------------------------------------------------------------------------


@dataclass(frozen=True)
class FileKind:
    kind: str
    # The kind-specific part of the sealed snapshot.
    snapshot: Callable[[RegistrationFile], dict]
    # What the kind's entry checks read (Candidate.details).
    check_details: Callable[[RegistrationFile], dict]


_kinds: dict[str, FileKind] = {}


def register_file_kind(handler: FileKind) -> None:
    _kinds[handler.kind] = handler


def _kind(file: RegistrationFile) -> FileKind | None:
    return _kinds.get(file.kind)


# --- helpers -------------------------------------------------------------------------------------


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months on the Shanghai calendar: an approval on 31 March is due on 30 September,
    whatever the UTC date of the same instant."""
    moment = timezone.localtime(moment)
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _event(file: RegistrationFile, kind: str, actor: Actor, *, before: str = "", **extra):
    return FileEvent.objects.create(
        file=file,
        kind=kind,
        from_status=before,
        to_status=file.status if before else "",
        version=file.version,
        reason=extra.pop("reason", ""),
        data=extra.pop("data", {}),
        **actor.event_fields(),
    )


def _transition(file: RegistrationFile, *, allowed: Iterable[str], to: str, **changes) -> str:
    """Compare-and-set the status; returns the status it moved from, or raises Conflict."""
    allowed = tuple(allowed)
    now = timezone.now()
    updated = RegistrationFile.objects.filter(
        pk=file.pk, status__in=allowed, status=file.status, version=file.version
    ).update(status=to, updated_at=now, **changes)
    if updated != 1:
        raise Conflict(
            _("The file changed while you were working on it (it is now: %(status)s).")
            % {"status": RegistrationFile.objects.get(pk=file.pk).get_status_display()}
        )
    before = file.status
    file.status = to
    file.updated_at = now
    for name, value in changes.items():
        setattr(file, name, value)
    return before


def file_id_number(file: RegistrationFile) -> str:
    return crypto.decrypt(file.id_number_encrypted, context=ID_NUMBER_CONTEXT)


def _candidate(file: RegistrationFile) -> Candidate:
    identifier = file.credit_code or (file_id_number(file) if file.id_number_encrypted else "")
    handler = _kind(file)
    return Candidate(
        kind=file.kind,
        identity_hash=file.party.identity_hash,
        identifier=identifier,
        party_id=file.party_id,
        file_id=file.pk,
        details=handler.check_details(file) if handler else {},
    )


def _emit(topic: str, file: RegistrationFile, **data) -> None:
    services.webhook_emit(
        topic=topic,
        data={
            "party_id": file.party_id,
            "kind": file.kind,
            "platform_ref": file.party.platform_ref,
            "version": file.version,
            "status": file.status,
            **data,
        },
    )


# --- creating and changing -----------------------------------------------------------------------


@transaction.atomic
def file_create(
    *,
    kind: str,
    name: str,
    contact_phone: str,
    address: str,
    actor: Actor,
    credit_code: str = "",
    id_number: str = "",
    contact_email: str = "",
    platform_ref: str = "",
) -> RegistrationFile:
    """Open a draft file and register its party. Exactly one of credit_code (a business) and
    id_number (a natural person) identifies it; callers have validated its check character."""
    if bool(credit_code) == bool(id_number):
        raise ValidationError(_("Give either a unified social credit code or an ID number."))
    identifier = credit_code or id_number
    candidate = Candidate(kind=kind, identity_hash=identity_hash(identifier), identifier=identifier)
    failures = run_entry_checks(candidate, only=CREATION_CHECKS)
    if failures:
        # Reported under the field the client sent the identity in.
        field = "unified_social_credit_code" if credit_code else "id_number"
        raise ValidationError({field: [f.message for f in failures]})
    party = services.party_register(
        kind=kind, name=name, identifier=identifier, platform_ref=platform_ref, actor=actor
    )
    file = RegistrationFile(
        party=party,
        kind=kind,
        name=name.strip(),
        credit_code=credit_code.upper(),
        contact_phone=contact_phone,
        contact_email=contact_email,
        address=address,
    )
    if id_number:
        file.id_number_encrypted = crypto.encrypt(id_number.upper(), context=ID_NUMBER_CONTEXT)
        file.id_number_masked = crypto.mask_id_number(id_number)
    file.full_clean(exclude=["party", "sealed_version"])
    file.save()
    _event(file, FileEvent.Kind.CREATED, actor)
    return file


def _open_new_version_if_sealed(file: RegistrationFile, actor: Actor) -> None:
    """A change to an approved or rejected file starts a new draft version; the sealed version
    stays in force until the new one is approved."""
    if file.status in EDITABLE:
        return
    if file.status not in (FileStatus.APPROVED, FileStatus.REJECTED):
        raise Conflict(_("The file is under review; wait for the decision before changing it."))
    before = file.status
    _transition(
        file,
        allowed=(FileStatus.APPROVED, FileStatus.REJECTED),
        to=FileStatus.DRAFT,
        version=file.version + 1,
        submitted_at=None,
        decided_at=None,
        assigned_to=None,
    )
    _event(file, FileEvent.Kind.UPDATED, actor, before=before, data={"new_version": file.version})


@transaction.atomic
def file_update(*, file: RegistrationFile, changes: dict, actor: Actor) -> RegistrationFile:
    unknown = set(changes) - set(UPDATABLE_FIELDS)
    if unknown:
        raise ValidationError({name: _("This field cannot be changed.") for name in unknown})
    file = RegistrationFile.objects.select_for_update().get(pk=file.pk)
    _open_new_version_if_sealed(file, actor)
    for name, value in changes.items():
        setattr(file, name, value)
    file.full_clean(exclude=["party", "sealed_version"])
    file.updated_at = timezone.now()
    file.save(update_fields=[*changes, "updated_at"])
    _event(file, FileEvent.Kind.UPDATED, actor, data={"fields": sorted(changes)})
    return file


def profile_update(profile, changes: dict, *, allowed: Iterable[str]) -> None:
    """Apply the platform's changes to a kind-specific part of the working version (call after
    `file_update`, which has opened a new version if the file was sealed)."""
    unknown = set(changes) - set(allowed)
    if unknown:
        raise ValidationError({name: _("This field cannot be changed.") for name in unknown})
    for name, value in changes.items():
        setattr(profile, name, value)
    profile.full_clean(exclude=["file"])
    profile.save()


def document_add(*, file: RegistrationFile, kind: str, upload, actor: Actor) -> FileDocument:
    """Validate, re-encode and store an image, then attach it to the working version."""
    if kind not in DocumentKind.values:
        raise ValidationError({"kind": _("Unknown document kind.")})
    image = uploads.clean_image(upload)
    # Written before the transaction: no file I/O while holding row locks. A failure below leaves
    # an unreferenced file in private storage, never a row without its file.
    storage_name = uploads.store_image(image, folder=f"files/{file.pk}")
    with transaction.atomic():
        file = RegistrationFile.objects.select_for_update().get(pk=file.pk)
        _open_new_version_if_sealed(file, actor)
        document = FileDocument.objects.create(
            file=file,
            kind=kind,
            version=file.version,
            storage_name=storage_name,
            sha256=image.sha256,
            content_type=image.content_type,
            width=image.width,
            height=image.height,
            size=len(image.content),
            uploaded_by=actor.label,
        )
        RegistrationFile.objects.filter(pk=file.pk).update(updated_at=timezone.now())
        _event(
            file,
            FileEvent.Kind.DOCUMENT_ADDED,
            actor,
            data={"document_id": document.pk, "kind": kind, "sha256": image.sha256},
        )
    return document


def current_documents(file: RegistrationFile) -> list[FileDocument]:
    """The newest document of each kind; older uploads stay as history."""
    newest: dict[str, FileDocument] = {}
    for document in file.documents.order_by("kind", "-id"):
        newest.setdefault(document.kind, document)
    return list(newest.values())


# --- submitting and deciding ---------------------------------------------------------------------


@dataclass(frozen=True)
class SubmitResult:
    accepted: bool
    failures: list[Failure]


@transaction.atomic
def file_submit(*, file: RegistrationFile, actor: Actor) -> SubmitResult:
    """Run every entry check; if all pass, the file goes to the reviewers' queue.

    A failed submission changes no status but is recorded, with its results, on the timeline.
    """
    file = RegistrationFile.objects.select_for_update().select_related("party").get(pk=file.pk)
    if file.status not in EDITABLE:
        raise Conflict(_("Only a draft or a file with requested changes can be submitted."))
    failures = run_entry_checks(_candidate(file))
    results = [f.as_dict() for f in failures]
    RegistrationFile.objects.filter(pk=file.pk).update(last_check_results=results)
    file.last_check_results = results
    if failures:
        _event(file, FileEvent.Kind.CHECKS_FAILED, actor, data={"failures": results})
        return SubmitResult(False, failures)

    to = FileStatus.SUBMITTED if file.status == FileStatus.DRAFT else FileStatus.RESUBMITTED
    changes: dict = {"submitted_at": timezone.now()}
    if file.sealed_version_id:
        # A change to a file in force: LCM Art. 15's verification deadline starts now.
        from accounts.workdays import add_working_days

        deadline = add_working_days(timezone.localdate(), CHANGE_REVIEW_WORKING_DAYS)
        changes.update(
            change_review_due=deadline.due, change_review_due_estimated=deadline.estimated
        )
    before = _transition(file, allowed=EDITABLE, to=to, **changes)
    _event(file, FileEvent.Kind.SUBMITTED, actor, before=before)
    return SubmitResult(True, [])


@transaction.atomic
def file_take(*, file: RegistrationFile, actor: Actor) -> RegistrationFile:
    _require_reviewer(actor)
    before = _transition(
        file, allowed=AWAITING_REVIEW, to=FileStatus.IN_REVIEW, assigned_to=actor.user
    )
    _event(file, FileEvent.Kind.TAKEN, actor, before=before)
    return file


def _require_reviewer(actor: Actor) -> None:
    if actor.user is None or not actor.user.has_perm("accounts.review_registrationfile"):
        raise PermissionDenied(_("Only a compliance reviewer can decide on a file."))


def snapshot(file: RegistrationFile) -> dict:
    handler = _kind(file)
    return {
        "party_id": file.party_id,
        "kind": file.kind,
        "version": file.version,
        "name": file.name,
        "credit_code": file.credit_code,
        "identity_hash": file.party.identity_hash,
        "id_number_masked": file.id_number_masked,
        "contact_phone": file.contact_phone,
        "contact_email": file.contact_email,
        "address": file.address,
        "documents": [
            {"id": d.pk, "kind": d.kind, "sha256": d.sha256} for d in current_documents(file)
        ],
        "details": handler.snapshot(file) if handler else {},
    }


def seal_digest(content: dict) -> str:
    canonical = json.dumps(
        content, cls=DjangoJSONEncoder, sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@transaction.atomic
def file_approve(*, file: RegistrationFile, actor: Actor, note: str = "") -> RegistrationFile:
    """Approve and seal the working version. The entry checks run again first: a ban or an
    expired licence since submission stops the approval."""
    _require_reviewer(actor)
    file = RegistrationFile.objects.select_related("party").get(pk=file.pk)
    if file.status not in DECIDABLE:
        raise Conflict(_("This file is not waiting for a decision."))
    failures = run_entry_checks(_candidate(file))
    if failures:
        raise EntryChecksFailed(failures)
    now = timezone.now()
    before = _transition(
        file,
        allowed=DECIDABLE,
        to=FileStatus.APPROVED,
        decided_at=now,
        assigned_to=file.assigned_to or actor.user,
    )
    content = snapshot(file)
    sealed = FileVersion.objects.create(
        file=file,
        version=file.version,
        snapshot=content,
        sha256=seal_digest(content),
        sealed_at=now,
        sealed_by=actor.label,
    )
    RegistrationFile.objects.filter(pk=file.pk).update(
        sealed_version=sealed, change_review_due=None, reverification_notified_at=None
    )
    file.sealed_version = sealed
    file.documents.filter(review=DocumentReview.PENDING).update(review=DocumentReview.ACCEPTED)
    Party.objects.filter(pk=file.party_id).update(
        name=file.name,
        approved_at=now,
        reverification_due_at=add_months(now, REVERIFICATION_MONTHS),
        updated_at=now,
    )
    _event(
        file,
        FileEvent.Kind.APPROVED,
        actor,
        before=before,
        reason=note,
        data={"sha256": sealed.sha256},
    )
    _emit("party.approved", file, sealed_sha256=sealed.sha256)
    return file


@transaction.atomic
def file_reject(
    *, file: RegistrationFile, reasons: list[str], text: str, actor: Actor
) -> RegistrationFile:
    _require_reviewer(actor)
    unknown = [r for r in reasons if r not in RejectReason.CHOICES]
    if not reasons or unknown:
        raise ValidationError({"reasons": _("Choose at least one known reason code.")})
    if not text.strip():
        raise ValidationError({"text": _("Explain the rejection to the party.")})
    before = _transition(file, allowed=DECIDABLE, to=FileStatus.REJECTED, decided_at=timezone.now())
    _event(
        file,
        FileEvent.Kind.REJECTED,
        actor,
        before=before,
        reason=text.strip(),
        data={"reasons": reasons},
    )
    _emit("party.rejected", file, reasons=reasons, text=text.strip())
    return file


@dataclass(frozen=True)
class ChangeItem:
    reason: str
    note: str = ""
    document_id: int | None = None


@transaction.atomic
def file_request_changes(
    *, file: RegistrationFile, items: list[ChangeItem], actor: Actor
) -> RegistrationFile:
    """Send the file back, saying per document what is wrong (expired, unreadable, ...)."""
    _require_reviewer(actor)
    if not items:
        raise ValidationError({"items": _("Say what needs to change.")})
    document_ids = {item.document_id for item in items if item.document_id is not None}
    documents = {d.pk: d for d in file.documents.filter(pk__in=document_ids)}
    errors = []
    for item in items:
        if item.reason not in ChangeReason.values:
            errors.append(_("Unknown reason code: %(code)s") % {"code": item.reason})
        if item.document_id is not None and item.document_id not in documents:
            errors.append(_("Document %(id)s is not part of this file.") % {"id": item.document_id})
    if errors:
        raise ValidationError({"items": errors})
    before = _transition(file, allowed=DECIDABLE, to=FileStatus.CHANGES_REQUESTED)
    for item in items:
        if item.document_id is not None:
            FileDocument.objects.filter(pk=item.document_id).update(
                review=DocumentReview.CHANGES_REQUESTED,
                change_reason=item.reason,
                change_note=item.note,
            )
    requested = [{"document_id": i.document_id, "reason": i.reason, "note": i.note} for i in items]
    _event(file, FileEvent.Kind.CHANGES_REQUESTED, actor, before=before, data={"items": requested})
    _emit("party.changes_requested", file, items=requested)
    return file


# --- personal data -------------------------------------------------------------------------------


@transaction.atomic
def identity_reveal(*, file: RegistrationFile, reason: str, actor: Actor) -> str:
    """The full ID number, for someone with the permission; the reveal is on the timeline."""
    if actor.user is None or not actor.user.has_perm("accounts.reveal_identity"):
        raise PermissionDenied(_("You may not reveal identity numbers."))
    if not reason.strip():
        raise ValidationError({"reason": _("Say why you need the full number.")})
    if not file.id_number_encrypted:
        raise ValidationError(_("This file has no personal ID number."))
    _event(file, FileEvent.Kind.IDENTITY_REVEALED, actor, reason=reason.strip())
    return file_id_number(file)


# --- re-verification -----------------------------------------------------------------------------

REVERIFICATION_BATCH = 500


def reverification_sweep(*, actor: Actor, now: datetime | None = None) -> int:
    """Mark approved files whose 6-month re-verification has fallen due, once each, and tell the
    platform. Safe to run twice at once: the mark is a compare-and-set."""
    now = now or timezone.now()
    due_ids = list(
        RegistrationFile.objects.filter(
            party__reverification_due_at__lte=now,
            reverification_notified_at__isnull=True,
            sealed_version__isnull=False,
        ).values_list("pk", flat=True)[:REVERIFICATION_BATCH]
    )
    marked = 0
    for pk in due_ids:
        with transaction.atomic():
            claimed = RegistrationFile.objects.filter(
                pk=pk, reverification_notified_at__isnull=True
            ).update(reverification_notified_at=now)
            if claimed != 1:
                continue
            file = RegistrationFile.objects.select_related("party").get(pk=pk)
            _event(
                file,
                FileEvent.Kind.REVERIFICATION_DUE,
                actor,
                data={"due_at": file.party.reverification_due_at.isoformat()},
            )
            _emit(
                "party.reverification_due",
                file,
                due_at=file.party.reverification_due_at.isoformat(),
            )
            marked += 1
    return marked
