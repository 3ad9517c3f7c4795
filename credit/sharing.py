"""Cross-platform sharing of credit records: joint discipline (LCM Art. 14; RULES.md §6).

Platforms of the consortium tell each other who is blacklisted and who is on the regulators'
serious-dishonesty list, without exchanging ID numbers, and honour each other's blacklists at
registration and at the go-live gate.

Identities. Each party's identifier (a business's unified social credit code, a natural person's
resident ID number) is hashed under the consortium's shared key: HMAC-SHA256(CREDIT_CONSORTIUM_KEY,
normalised identifier). Every member holds the key, so the same person gives the same hash on every
platform; nobody outside can enumerate the 18-digit ID space against it (RULES.md §8). It is not
our IDENTITY_HASH_KEY, which stays ours. `ConsortiumIdentity` keeps each party's hash, computed
from its registration file: credit codes are kept in clear, ID numbers are decrypted for it
(`accounts.crypto`). Decryption happens in the worker only -- the backfill task, the completion of
pending feed entries -- never in a request and never in a log line. Requests use what is known
without decrypting: a stored hash, or a credit code. An identity is matched to the peers' records
already received the moment its hash is first stored.

Our feed. `FeedEntry` rows are what we share: a blacklist measure executed (`blacklist`, valid
until the measure's end), the blacklisting lifted at term end or reversed on appeal
(`blacklist_lifted`, revoking the entry), a regulator's serious-dishonesty entry matched to a
party here (`serious_dishonesty`). Unique by (source, kind), so a retried hook publishes once.
Entries are never edited: a correction or revocation is a new entry whose `revokes` names the old
one. `blacklist_lifted` is the feed's revocation, whatever the kind of the entry it revokes (the
consortium's vocabulary has three kinds; a withdrawn serious-dishonesty entry is "lifted" too). An
entry of another kind with `revokes` is a correction: it replaces the entry it names.

`GET /api/v1/credit/feed/?after=<seq>&limit=<n≤500>` serves the entries after `seq` in order,
signed with our Ed25519 key (CREDIT_FEED_SIGNING_KEY) over the canonical JSON (sorted keys, no
spaces, UTF-8) of everything but the signature; the public key is at `/api/v1/credit/feed/key/`.
Readers page by `after`, so an entry must never appear below a sequence number a reader has
passed: publication takes a transaction-scoped lock (PostgreSQL advisory lock; SQLite serialises
writers anyway), so sequence order is commit order. An entry whose hash still needs a decryption
is stored pending (empty hash) and completed by the worker right after commit (and by a sweep,
should that message be lost); the feed stops before the first pending entry, so nothing is
skipped. Completing a pending entry is the last step of publishing it, not an edit: nobody has
seen it yet.

Changing keys. Each page names its key (`key_id`) and, while CREDIT_FEED_NEXT_SIGNING_KEY is set,
announces the public key we will sign with next, covered by the current key's signature. A peer
keeps what its peers announce (`Peer.next_public_key`); when a peer's pages stop verifying with its
current key and verify with the announced one, that one becomes the current key. So a key changes
in two deployments -- announce, then switch -- with no peer re-keyed by hand. A key nobody
announced is never taken: a stolen key must still be replaced by a person, in the admin.

Peers' feeds. `pull_peer` reads a peer's feed after `peer.last_seq` (HTTPS only, no redirects, a
timeout and a size cap), verifies the signature with the peer's public key -- a page that does not
verify, or is malformed, is refused whole: nothing stored, `last_error` says why -- then stores
each entry once (`PeerRecord`, unique by peer and remote sequence), matches it to local parties
through `ConsortiumIdentity`, and for a match records a credit event (kind `shared_record`, rule
`shared.<kind>`, source `credit.peerrecord:<id>`). A lifting or a correction marks the record it
revokes `revoked_at` and reverses that record's credit events: the effect of another platform's
listing here lasts as long as the listing.

Checks. Registration of an identity with an active peer blacklist record (not revoked, valid
today, no upheld dispute) is refused (`credit.checks`, "shared_blacklist"); the go-live gate
refuses every involved party with one (`liverooms.credit_gate`). The gate answers from one read,
so it does not query for this: each process keeps the few local parties that peers have
blacklisted for a minute (`shared_blacklisted_parties`).

Disputes. A party disputes a shared record (`dispute_file`); a compliance lead decides
(`dispute_decide`). Upholding a dispute of OUR entry publishes a revocation and reverses the credit
events that credit itself recorded from the same source (a sanctions-list entry); a blacklist
stays a measure of enforcement's, undone by an appeal, which publishes its own lifting. Upholding a
dispute of a PEER's record ends its effect here (checks, credit) and leaves the upheld dispute as
the note that the peer must be told; there is no outbox to peers yet, so a log line says so too.
While a dispute of a peer's record is open, the record still counts: it is another platform's
decision, reached with its own facts and appeal, and if filing a dispute suspended it, every
blacklisted party could evade joint discipline by filing one on every platform -- which LCM
Art. 14 asks platforms to prevent. Leads decide disputes; upholding one takes effect at once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache
from time import monotonic as _monotonic
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from accounts import crypto
from accounts.actors import Actor
from accounts.identity import normalise_identifier
from accounts.models import Party, RegistrationFile
from accounts.registration import ID_NUMBER_CONTEXT
from config.errors import Conflict
from credit import scoring
from credit.models import (
    ConsortiumIdentity,
    Dispute,
    EventKind,
    FeedEntry,
    Peer,
    PeerRecord,
    SharedKind,
)

logger = logging.getLogger(__name__)

# The kinds that are records in their own right (a blacklist_lifted only ends one).
RECORD_KINDS = (SharedKind.BLACKLIST, SharedKind.SERIOUS_DISHONESTY)
FEED_PAGE_MAX = 500
# A page of 500 entries is about 150 kB; anything far larger is not a feed.
MAX_PAGE_BYTES = 2 * 1024 * 1024
MAX_GROUNDS = 5000
# pg_advisory_xact_lock key of the feed: "credfeed" as a 64-bit integer.
_FEED_LOCK = int.from_bytes(b"credfeed", "big")
_HASH = re.compile(r"[0-9a-f]{64}")


# --- consortium identities -----------------------------------------------------------------------


def consortium_hash(identifier: str, *, key: str | None = None) -> str:
    """The identifier's hash under the consortium key (or `key`): the same on every platform."""
    secret = settings.CREDIT_CONSORTIUM_KEY if key is None else key
    message = normalise_identifier(identifier).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


@sensitive_variables()
def _identifier(credit_code: str, id_number_encrypted: str) -> str:
    if credit_code:
        return credit_code
    if id_number_encrypted:
        return crypto.decrypt(id_number_encrypted, context=ID_NUMBER_CONTEXT)
    return ""


def _files(party_ids: Iterable[int]) -> list[dict]:
    return list(
        RegistrationFile.objects.filter(party_id__in=list(party_ids)).values(
            "party_id", "credit_code", "id_number_encrypted"
        )
    )


@sensitive_variables()
def _hashes_from_files(files: list[dict]) -> dict[int, str]:
    """Party id -> consortium hash. Decrypts ID numbers: for the worker only. A number that does
    not decrypt (a key missing from the keyring) is reported by party id, never by value."""
    hashes = {}
    for row in files:
        try:
            identifier = _identifier(row["credit_code"], row["id_number_encrypted"])
        except crypto.DecryptionError:
            logger.error("party %s: the ID number does not decrypt", row["party_id"])
            continue
        if identifier:
            hashes[row["party_id"]] = consortium_hash(identifier)
    return hashes


def _store_identities(hashes: dict[int, str]) -> None:
    """Store new identities and match them to the peers' records already received."""
    if not hashes:
        return
    ConsortiumIdentity.objects.bulk_create(
        [ConsortiumIdentity(party_id=pk, consortium_hash=value) for pk, value in hashes.items()],
        ignore_conflicts=True,
    )
    _match_received(hashes)


def consortium_identity_for(party: Party | int) -> str | None:
    """The party's consortium hash, computed from its registration file and stored the first
    time; None for a party without an identifier on file. May decrypt an ID number: call it from
    the worker, not from a request."""
    party_id = party if isinstance(party, int) else party.pk
    stored = (
        ConsortiumIdentity.objects.filter(party_id=party_id)
        .values_list("consortium_hash", flat=True)
        .first()
    )
    if stored:
        return stored
    hashes = _hashes_from_files(_files([party_id]))
    _store_identities(hashes)
    return hashes.get(party_id)


def _known_hash(party_id: int) -> str | None:
    """The hash if it is known without decrypting: stored, or from a credit code (public, kept in
    clear). "" when only the worker can compute it; None when there is nothing to compute it
    from."""
    stored = (
        ConsortiumIdentity.objects.filter(party_id=party_id)
        .values_list("consortium_hash", flat=True)
        .first()
    )
    if stored:
        return stored
    files = _files([party_id])
    if not files or not (files[0]["credit_code"] or files[0]["id_number_encrypted"]):
        return None
    if files[0]["credit_code"]:
        value = consortium_hash(files[0]["credit_code"])
        _store_identities({party_id: value})
        return value
    return ""


def consortium_identities_backfill(
    *, batch_size: int = 1000, progress: Callable[[int, int], None] | None = None
) -> int:
    """Compute the identities of every party that has none yet, in batches; returns how many were
    stored. For the worker (it decrypts)."""
    missing = Party.objects.filter(
        ~Exists(ConsortiumIdentity.objects.filter(party_id=OuterRef("pk")))
    ).order_by("pk")
    total = missing.count()
    done = stored = 0
    last = 0
    while True:
        ids = list(missing.filter(pk__gt=last).values_list("pk", flat=True)[:batch_size])
        if not ids:
            break
        with transaction.atomic():
            hashes = _hashes_from_files(_files(ids))
            _store_identities(hashes)
        stored += len(hashes)
        done += len(ids)
        last = ids[-1]
        if progress is not None:
            progress(done, total)
    return stored


# --- signing --------------------------------------------------------------------------------------


class FeedError(Exception):
    """A peer's page we refuse: unreachable, malformed, or not signed with the peer's key."""


def canonical(document: dict) -> bytes:
    """What a signature covers: sorted keys, no spaces, UTF-8."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@lru_cache(maxsize=4)
def _private_key(encoded: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(encoded))


def _signing_key() -> Ed25519PrivateKey:
    return _private_key(settings.CREDIT_FEED_SIGNING_KEY)


def _public(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def public_key() -> str:
    """Our feed's public key: base64 of the raw 32 bytes."""
    return _public(_signing_key())


def next_public_key() -> str:
    """The public key we will sign with next (CREDIT_FEED_NEXT_SIGNING_KEY), or ""."""
    encoded = settings.CREDIT_FEED_NEXT_SIGNING_KEY
    if not encoded:
        return ""
    announced = _public(_private_key(encoded))
    return "" if announced == public_key() else announced


def key_id(encoded_public_key: str) -> str:
    """A short name for a public key, for people and logs: the first 16 hex digits of the
    SHA-256 of its raw bytes."""
    return hashlib.sha256(base64.b64decode(encoded_public_key)).hexdigest()[:16]


def sign(document: dict, key: Ed25519PrivateKey | None = None) -> dict:
    """The document with its `signature` (base64), over everything else in it."""
    body = {k: v for k, v in document.items() if k != "signature"}
    signature = (key or _signing_key()).sign(canonical(body))
    return {**body, "signature": base64.b64encode(signature).decode()}


def load_public_key(text: str) -> Ed25519PublicKey:
    """A peer's key from base64 of its raw 32 bytes; ValidationError for anything else."""
    try:
        raw = base64.b64decode((text or "").strip(), validate=True)
        if len(raw) != 32:
            raise ValueError
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError):
        raise ValidationError(
            {"public_key": _("Give the Ed25519 public key as base64 of its 32 raw bytes.")}
        ) from None


def verify(document: object, key: str | Ed25519PublicKey) -> dict:
    """The document without its signature, if the signature is the key's; FeedError if not."""
    if not isinstance(document, dict) or not isinstance(document.get("signature"), str):
        raise FeedError(_("The page is not a signed JSON object."))
    try:
        signature = base64.b64decode(document["signature"], validate=True)
    except (binascii.Error, ValueError):
        raise FeedError(_("The signature is not base64.")) from None
    if isinstance(key, str):
        try:
            key = load_public_key(key)
        except ValidationError:
            raise FeedError(_("The peer's public key is not a valid Ed25519 key.")) from None
    body = {k: v for k, v in document.items() if k != "signature"}
    try:
        key.verify(signature, canonical(body))
    except InvalidSignature:
        raise FeedError(_("The signature does not verify with the peer's public key.")) from None
    return body


# --- our feed -------------------------------------------------------------------------------------


def _lock_feed() -> None:
    """Held until the surrounding transaction ends, so that entries commit in sequence order."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_FEED_LOCK])


def _complete_after_commit() -> None:
    from credit import sharing_tasks

    transaction.on_commit(lambda: sharing_tasks.complete_feed_entries.delay())


@transaction.atomic
def feed_publish(
    *,
    kind: str,
    party_id: int,
    source: str,
    valid_from: date,
    valid_until: date | None = None,
    revokes: FeedEntry | None = None,
) -> FeedEntry | None:
    """Share a record once per (source, kind); returns the entry (the existing one on a retry),
    or None for a party with no identifier on file (nothing to share it under)."""
    _lock_feed()
    existing = FeedEntry.objects.filter(source=source, kind=kind).first()
    if existing is not None:
        return existing
    if revokes is not None:
        value = revokes.consortium_hash
    else:
        value = _known_hash(party_id)
        if value is None:
            logger.warning("party %s has no identifier on file: %s not shared", party_id, source)
            return None
    try:
        with transaction.atomic():
            entry = FeedEntry.objects.create(
                kind=kind,
                consortium_hash=value,
                party_id=party_id,
                source=source,
                valid_from=valid_from,
                valid_until=valid_until,
                revokes=revokes,
            )
    except IntegrityError:  # published meanwhile (SQLite: no advisory lock)
        return FeedEntry.objects.filter(source=source, kind=kind).first()
    if not value:
        _complete_after_commit()
    return entry


@transaction.atomic
def feed_revoke(*, entry: FeedEntry, source: str) -> FeedEntry:
    """Revoke one of our entries (`blacklist_lifted` naming it), once."""
    _lock_feed()
    revocation = FeedEntry.objects.filter(revokes=entry, kind=SharedKind.BLACKLIST_LIFTED).first()
    if revocation is not None:
        return revocation
    return feed_publish(
        kind=SharedKind.BLACKLIST_LIFTED,
        party_id=entry.party_id,
        source=source,
        valid_from=timezone.localdate(),
        revokes=entry,
    )


def blacklist_publish(
    *, party_id: int, source: str, starts_at: datetime, ends_at: datetime | None
) -> FeedEntry | None:
    """A blacklisting executed here (LCM Arts. 12, 14); `valid_until` is its last day."""
    return feed_publish(
        kind=SharedKind.BLACKLIST,
        party_id=party_id,
        source=source,
        valid_from=timezone.localdate(starts_at),
        valid_until=timezone.localdate(ends_at) if ends_at else None,
    )


def blacklist_lift(*, source: str) -> FeedEntry | None:
    """The blacklisting shared from `source` is lifted (its term ended, or it was reversed)."""
    entry = FeedEntry.objects.filter(source=source, kind=SharedKind.BLACKLIST).first()
    if entry is None:
        return None
    return feed_revoke(entry=entry, source=source)


def feed_complete_pending() -> int:
    """Fill in the hashes of entries published while only a decryption could give them; returns
    how many entries were completed. For the worker (it decrypts)."""
    completed = 0
    pending = FeedEntry.objects.filter(consortium_hash="").values_list("party_id", flat=True)
    for party_id in sorted(set(pending)):
        value = consortium_identity_for(party_id)
        if not value:
            # Blocks the feed from this entry on; an operator must fix the keyring.
            logger.error("feed entries of party %s cannot be completed", party_id)
            continue
        completed += FeedEntry.objects.filter(party_id=party_id, consortium_hash="").update(
            consortium_hash=value, published_at=timezone.now()
        )
    return completed


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def feed_page(*, after: int = 0, limit: int = FEED_PAGE_MAX) -> dict:
    """Our signed page of entries after `after`, up to the first pending one."""
    limit = max(1, min(limit, FEED_PAGE_MAX))
    rows = FeedEntry.objects.filter(seq__gt=after).order_by("seq")[:limit]
    entries = []
    for row in rows:
        if not row.consortium_hash:
            break
        entries.append(
            {
                "seq": row.seq,
                "kind": row.kind,
                "consortium_hash": row.consortium_hash,
                "valid_from": row.valid_from.isoformat(),
                "valid_until": row.valid_until.isoformat() if row.valid_until else None,
                "revokes": row.revokes_id,
                "published_at": _timestamp(row.published_at),
            }
        )
    document = {
        "platform": settings.CREDIT_PLATFORM_NAME,
        "key_id": key_id(public_key()),
        "entries": entries,
        "next_after": entries[-1]["seq"] if entries else after,
    }
    if announced := next_public_key():
        # Vouched for by the current key's signature over the page (rotation, below).
        document["next_public_key"] = announced
    return sign(document)


# --- peers ----------------------------------------------------------------------------------------


def _require(actor: Actor, permission: str) -> None:
    """Decided by a person with the permission, never by a key or a task."""
    if actor.user is None or not actor.user.has_perm(permission):
        raise PermissionDenied(_("You do not have permission to do this."))


def _check_feed_url(url: str) -> None:
    """HTTPS only; plain HTTP to loopback when DEBUG or CREDIT_PEER_ALLOW_LOOPBACK_HTTP allows."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    loopback_allowed = settings.DEBUG or settings.CREDIT_PEER_ALLOW_LOOPBACK_HTTP
    if parts.scheme == "http" and loopback_allowed and _is_loopback(parts.hostname or ""):
        return
    raise ValidationError({"feed_url": _("A peer's feed is read over https:// only.")})


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@transaction.atomic
def peer_register(*, name: str, feed_url: str, public_key: str, actor: Actor) -> Peer:
    """Register another platform of the consortium with the key that signs its feed."""
    _require(actor, "credit.add_peer")
    load_public_key(public_key)
    _check_feed_url(feed_url)
    if not name.strip():
        raise ValidationError({"name": _("Name the platform.")})
    peer = Peer(name=name.strip(), feed_url=feed_url.strip(), public_key=public_key.strip())
    peer.full_clean()
    peer.save()
    logger.info("peer %s registered by %s", peer.pk, actor.label)
    return peer


# --- pulling peers' feeds -------------------------------------------------------------------------


@dataclass
class PullReport:
    pages: int = 0
    received: int = 0
    stored: int = 0
    matched: int = 0
    revoked: int = 0
    error: str = ""

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect could take the request (and our key for the peer) anywhere: a failure instead.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _page_url(feed_url: str, after: int, limit: int) -> str:
    parts = urlsplit(feed_url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("after", "limit")]
    query += [("after", str(after)), ("limit", str(limit))]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _fetch(peer: Peer, after: int) -> object:
    try:
        _check_feed_url(peer.feed_url)
    except ValidationError as exc:
        raise FeedError(exc.messages[0]) from None
    headers = {"Accept": "application/json", "User-Agent": "livecommerce-compliance-credit/1"}
    token = settings.CREDIT_PEER_API_KEYS.get(peer.name)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(  # noqa: S310 - https (or loopback http), checked above
        _page_url(peer.feed_url, after, FEED_PAGE_MAX), headers=headers
    )
    try:
        with _opener.open(request, timeout=settings.CREDIT_PEER_TIMEOUT_SECONDS) as response:
            body = response.read(MAX_PAGE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise FeedError(_("The peer answered HTTP %d.") % exc.code) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FeedError(
            _("The peer's feed cannot be read: %s") % f"{type(exc).__name__}: {reason}"
        ) from None
    if len(body) > MAX_PAGE_BYTES:
        raise FeedError(_("The page is larger than %d bytes.") % MAX_PAGE_BYTES)
    try:
        return json.loads(body)
    except ValueError:
        raise FeedError(_("The page is not JSON.")) from None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _day(value: object) -> date:
    if not isinstance(value, str):
        raise ValueError
    return date.fromisoformat(value)


def _entry(raw: object, previous: int) -> dict:
    """One entry checked for shape; ValueError names what is wrong."""
    if not isinstance(raw, dict):
        raise ValueError("not an object")
    seq = raw.get("seq")
    if not _is_int(seq) or seq <= previous:
        raise ValueError("seq must be an integer above the previous one")
    if raw.get("kind") not in SharedKind.values:
        raise ValueError(f"entry {seq}: unknown kind")
    if not isinstance(raw.get("consortium_hash"), str) or not _HASH.fullmatch(
        raw["consortium_hash"]
    ):
        raise ValueError(f"entry {seq}: the hash is not 64 hex digits")
    try:
        valid_from = _day(raw.get("valid_from"))
        until = raw.get("valid_until")
        valid_until = None if until is None else _day(until)
        datetime.fromisoformat(raw.get("published_at"))
    except (TypeError, ValueError):
        raise ValueError(f"entry {seq}: dates must be ISO 8601") from None
    if valid_until is not None and valid_until < valid_from:
        raise ValueError(f"entry {seq}: valid_until is before valid_from")
    revokes = raw.get("revokes")
    if revokes is not None and (not _is_int(revokes) or revokes >= seq):
        raise ValueError(f"entry {seq}: revokes must name an earlier entry")
    if raw["kind"] == SharedKind.BLACKLIST_LIFTED and revokes is None:
        raise ValueError(f"entry {seq}: a lifting must name the entry it lifts")
    return {**raw, "valid_from": valid_from, "valid_until": valid_until}


@dataclass(frozen=True)
class Page:
    entries: list[dict]
    next_after: int
    # The key the peer announces it will sign with next ("" if none); vouched for by the key
    # the page verified with.
    next_public_key: str = ""


def verify_page(document: object, key: str | Ed25519PublicKey, *, after: int) -> Page:
    """A peer's page, verified and checked whole; FeedError for the first thing wrong."""
    body = verify(document, key)
    entries = body.get("entries")
    next_after = body.get("next_after")
    if not isinstance(entries, list) or len(entries) > FEED_PAGE_MAX or not _is_int(next_after):
        raise FeedError(_("The page lacks its entries or next_after."))
    checked = []
    previous = after
    for raw in entries:
        try:
            entry = _entry(raw, previous)
        except ValueError as exc:
            raise FeedError(_("A malformed entry: %s") % exc) from None
        checked.append(entry)
        previous = entry["seq"]
    if next_after != previous:
        raise FeedError(_("next_after does not follow the page's last entry."))
    announced = body.get("next_public_key", "")
    if announced:
        try:
            load_public_key(announced if isinstance(announced, str) else "")
        except ValidationError:
            raise FeedError(_("The announced next key is not a valid Ed25519 key.")) from None
    return Page(checked, next_after, announced.strip() if announced else "")


def _record_source(record_id: int) -> str:
    return f"credit.peerrecord:{record_id}"


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=timezone.get_current_timezone())


def _record_event(record: PeerRecord, party_id: int, peer_name: str) -> bool:
    rule = f"shared.{record.kind}"
    event = scoring.record(
        party=party_id,
        kind=EventKind.SHARED_RECORD,
        rule=rule,
        points=scoring.price(rule),
        source=_record_source(record.pk),
        occurred_at=_noon(record.valid_from),
        description=f"{peer_name} #{record.remote_seq}",
    )
    return event is not None


def _parties_by_hash(hashes: Iterable[str]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    rows = ConsortiumIdentity.objects.filter(consortium_hash__in=list(hashes)).order_by("party_id")
    for party_id, value in rows.values_list("party_id", "consortium_hash"):
        found.setdefault(value, []).append(party_id)
    return found


def _upheld_dispute() -> Exists:
    return Exists(Dispute.objects.filter(peer_record=OuterRef("pk"), status=Dispute.Status.UPHELD))


def _match_received(hashes: dict[int, str]) -> int:
    """New identities meet the peers' standing records that name them."""
    by_hash: dict[str, list[int]] = {}
    for party_id, value in hashes.items():
        by_hash.setdefault(value, []).append(party_id)
    records = (
        PeerRecord.objects.filter(
            consortium_hash__in=list(by_hash), kind__in=RECORD_KINDS, revoked_at__isnull=True
        )
        .exclude(_upheld_dispute())
        .select_related("peer")
    )
    matched = 0
    for record in records:
        party_ids = sorted(by_hash[record.consortium_hash])
        if record.party_id is None:
            PeerRecord.objects.filter(pk=record.pk, party__isnull=True).update(
                party_id=party_ids[0]
            )
        for party_id in party_ids:
            matched += _record_event(record, party_id, record.peer.name)
    if matched:
        _changed()
    return matched


def _revoke_received(peer: Peer, remote_seqs: list[int], now: datetime) -> int:
    targets = list(
        PeerRecord.objects.filter(
            peer=peer, remote_seq__in=remote_seqs, revoked_at__isnull=True
        ).values_list("pk", "remote_seq")
    )
    PeerRecord.objects.filter(pk__in=[pk for pk, _seq in targets], revoked_at__isnull=True).update(
        revoked_at=now
    )
    for pk, seq in targets:
        scoring.reverse(
            source=_record_source(pk),
            reason=_("Revoked by %(peer)s (entry %(seq)s).") % {"peer": peer.name, "seq": seq},
        )
    return len(targets)


def _store_page(peer: Peer, entries: list[dict], report: PullReport) -> None:
    """Each entry once; matches get their credit events; liftings and corrections revoke."""
    now = timezone.now()
    seqs = [entry["seq"] for entry in entries]
    seen = set(
        PeerRecord.objects.filter(peer=peer, remote_seq__in=seqs).values_list(
            "remote_seq", flat=True
        )
    )
    fresh = [entry for entry in entries if entry["seq"] not in seen]
    parties = _parties_by_hash({entry["consortium_hash"] for entry in fresh})
    records = PeerRecord.objects.bulk_create(
        [
            PeerRecord(
                peer=peer,
                remote_seq=entry["seq"],
                kind=entry["kind"],
                consortium_hash=entry["consortium_hash"],
                valid_from=entry["valid_from"],
                valid_until=entry["valid_until"],
                party_id=(parties.get(entry["consortium_hash"]) or [None])[0],
                payload={
                    **entry,
                    "valid_from": entry["valid_from"].isoformat(),
                    "valid_until": entry["valid_until"].isoformat()
                    if entry["valid_until"]
                    else None,
                },
                received_at=now,
            )
            for entry in fresh
        ]
    )
    report.stored += len(records)
    if any(record.pk is None for record in records):  # a backend that returns no ids
        records = list(
            PeerRecord.objects.filter(peer=peer, remote_seq__in=[e["seq"] for e in fresh])
        )
    for record in records:
        if record.kind in RECORD_KINDS:
            for party_id in parties.get(record.consortium_hash, ()):
                report.matched += _record_event(record, party_id, peer.name)
    revoked = [entry["revokes"] for entry in fresh if entry.get("revokes") is not None]
    if revoked:
        report.revoked += _revoke_received(peer, revoked, now)
    if fresh:
        _changed()


def _fail(peer: Peer, message: str, report: PullReport) -> None:
    report.error = message
    Peer.objects.filter(pk=peer.pk).update(last_error=message[:2000])
    logger.warning("credit feed of peer %s refused: %s", peer.pk, message)


# --- rotation of a peer's signing key ---------------------------------------------------------
#
# A peer announces the key it will sign with next in its pages, under its current key's
# signature; we keep it as `next_public_key`. When its pages stop verifying with the current key
# and verify with the announced one, the announced key becomes the current one, in the same
# transaction that stores the page. A key nobody announced is never taken: a page that verifies
# with neither is refused as before, and a person re-keys the peer in the admin.


def _verify_with_current_or_next(document, peer: Peer, *, after: int) -> tuple[Page, bool]:
    """The page, and whether it verified only with the peer's announced next key."""
    try:
        return verify_page(document, peer.public_key, after=after), False
    except FeedError:
        if not peer.next_public_key:
            raise
        try:
            return verify_page(document, peer.next_public_key, after=after), True
        except FeedError:
            pass
        raise


def _keys_after(peer: Peer, page: Page, rotated: bool) -> dict:
    """The peer's key fields after a verified page."""
    if rotated:
        return {
            "public_key": peer.next_public_key,
            "next_public_key": page.next_public_key,
            "key_rotated_at": timezone.now(),
        }
    # The latest announcement stands, a withdrawn one included.
    announced = "" if page.next_public_key == peer.public_key else page.next_public_key
    return {"next_public_key": announced} if announced != peer.next_public_key else {}


def pull_peer(
    peer: Peer,
    *,
    max_pages: int | None = None,
    progress: Callable[[PullReport], None] | None = None,
) -> PullReport:
    """Read a peer's new entries, page by page, each page verified and stored whole or not at
    all. Safe to run twice at once: a page is stored only if `last_seq` is still where it was
    read from."""
    report = PullReport()
    for _page in range(max_pages or settings.CREDIT_PEER_MAX_PAGES):
        peer = Peer.objects.get(pk=peer.pk)
        after = peer.last_seq
        try:
            document = _fetch(peer, after)
            page, rotated = _verify_with_current_or_next(document, peer, after=after)
        except FeedError as exc:
            _fail(peer, str(exc), report)
            break
        with transaction.atomic():
            locked = Peer.objects.select_for_update().get(pk=peer.pk)
            if locked.last_seq != after or locked.public_key != peer.public_key:
                break  # another pull stored this page (or took the next key) meanwhile
            _store_page(locked, page.entries, report)
            keys = _keys_after(locked, page, rotated)
            Peer.objects.filter(pk=peer.pk).update(
                last_seq=page.next_after, last_pulled_at=timezone.now(), last_error="", **keys
            )
        if rotated:
            logger.info(
                "credit feed of peer %s now signed with its announced key %s",
                peer.pk,
                key_id(peer.next_public_key),
            )
        report.pages += 1
        report.received += len(page.entries)
        if progress is not None:
            progress(report)
        if not page.entries:  # a peer may serve fewer than we ask for: read until it is empty
            break
    return report


# --- the checks --------------------------------------------------------------------------------


def active_blacklists(today: date) -> QuerySet[PeerRecord]:
    """Peers' blacklist records in force today: not revoked, within their dates, no upheld
    dispute (an open one does not suspend them: see the module's docstring)."""
    return (
        PeerRecord.objects.filter(
            kind=SharedKind.BLACKLIST, revoked_at__isnull=True, valid_from__lte=today
        )
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today))
        .exclude(_upheld_dispute())
    )


def shared_blacklist_for_identifier(identifier: str, *, today: date) -> PeerRecord | None:
    """For the entry check: the identifier is in memory already, no decryption needed."""
    return (
        active_blacklists(today)
        .filter(consortium_hash=consortium_hash(identifier))
        .select_related("peer")
        .order_by(F("valid_until").desc(nulls_first=True))
        .first()
    )


# The go-live gate answers from one read (liverooms/gate.py); a query of its own per decision would
# double its cost. The local parties that peers have blacklisted are few, so each process keeps
# them, like the rule set in force, this long: a pulled record, a revocation or an upheld dispute
# reaches every gate within the minute (and this process's at once).
GATE_CACHE_SECONDS = 60
_gate_cache: tuple[float, date | None, dict[int, tuple[str, date | None]]] = (0.0, None, {})


def forget_shared_blacklists() -> None:
    global _gate_cache
    _gate_cache = (0.0, None, {})


def _changed() -> None:
    forget_shared_blacklists()
    transaction.on_commit(forget_shared_blacklists)


def shared_blacklisted_parties(*, today: date) -> dict[int, tuple[str, date | None]]:
    """Local party id -> (peer's name, last day or None) for every party with a peer blacklist
    record in force: two index look-ups, once a minute per process."""
    global _gate_cache
    loaded_at, day, parties = _gate_cache
    if day == today and _monotonic() - loaded_at < GATE_CACHE_SECONDS:
        return parties
    records: dict[str, tuple[str, date | None]] = {}
    rows = active_blacklists(today).order_by(F("valid_until").asc(nulls_last=True))
    for value, peer_name, until in rows.values_list("consortium_hash", "peer__name", "valid_until"):
        records[value] = (peer_name, until)  # the latest end wins
    parties = {}
    if records:
        identities = ConsortiumIdentity.objects.filter(consortium_hash__in=list(records))
        for party_id, value in identities.values_list("party_id", "consortium_hash"):
            parties[party_id] = records[value]
    _gate_cache = (_monotonic(), today, parties)
    return parties


# --- disputes ----------------------------------------------------------------------------------


def _stored_hash(party: Party) -> str | None:
    return (
        ConsortiumIdentity.objects.filter(party_id=party.pk)
        .values_list("consortium_hash", flat=True)
        .first()
    )


@transaction.atomic
def dispute_file(
    *,
    party: Party,
    grounds: str,
    actor: Actor,
    feed_entry: FeedEntry | None = None,
    peer_record: PeerRecord | None = None,
) -> Dispute:
    """A party disputes a shared record about it: one of ours, or one a peer shared."""
    if (feed_entry is None) == (peer_record is None):
        raise ValidationError(_("Name the one shared record disputed."))
    grounds = grounds.strip()
    if not grounds:
        raise ValidationError({"grounds": _("Say why the shared record is wrong.")})
    if len(grounds) > MAX_GROUNDS:
        raise ValidationError({"grounds": _("Keep the grounds under %d characters.") % MAX_GROUNDS})
    if feed_entry is not None:
        record = FeedEntry.objects.select_for_update().get(pk=feed_entry.pk)
        concerns = record.party_id == party.pk
        revoked = FeedEntry.objects.filter(revokes=record).exists()
        disputes = Dispute.objects.filter(feed_entry=record)
    else:
        record = PeerRecord.objects.select_for_update().get(pk=peer_record.pk)
        concerns = record.party_id == party.pk or record.consortium_hash == _stored_hash(party)
        revoked = record.revoked_at is not None
        disputes = Dispute.objects.filter(peer_record=record)
    if not concerns:
        raise ValidationError(_("This shared record is not about this party."))
    if record.kind not in RECORD_KINDS or revoked:
        raise Conflict(_("This record has been lifted or revoked; there is nothing to dispute."))
    if disputes.filter(status__in=[Dispute.Status.OPEN, Dispute.Status.UPHELD]).exists():
        raise Conflict(_("This record is disputed already."))
    dispute = Dispute.objects.create(
        party=party,
        feed_entry=record if feed_entry is not None else None,
        peer_record=record if peer_record is not None else None,
        grounds=grounds,
    )
    logger.info("dispute %s of a shared record filed by %s", dispute.pk, actor.label)
    return dispute


@transaction.atomic
def dispute_decide(*, dispute: Dispute, uphold: bool, decision: str, actor: Actor) -> Dispute:
    """A compliance lead decides. Upheld: our entry is revoked in the feed, or the peer's record
    stops counting here; either way its credit events here are reversed."""
    _require(actor, "credit.change_dispute")
    decision = decision.strip()
    if not decision:
        raise ValidationError({"decision": _("Give the reasons for the decision.")})
    status = Dispute.Status.UPHELD if uphold else Dispute.Status.REJECTED
    now = timezone.now()
    decided = Dispute.objects.filter(pk=dispute.pk, status=Dispute.Status.OPEN).update(
        status=status, decided_at=now, decided_by=actor.label, decision=decision
    )
    if decided != 1:
        raise Conflict(_("This dispute has been decided already."))
    dispute = Dispute.objects.select_related("feed_entry", "peer_record__peer").get(pk=dispute.pk)
    if not uphold:
        return dispute
    reason = _("Shared record disputed: %s") % decision
    if dispute.feed_entry is not None:
        entry = dispute.feed_entry
        feed_revoke(entry=entry, source=f"credit.dispute:{dispute.pk}")
        # Credit's own sources only; a measure's events are enforcement's, undone by an appeal.
        if entry.source.startswith("credit."):
            scoring.reverse(source=entry.source, reason=reason)
    else:
        record = dispute.peer_record
        scoring.reverse(source=_record_source(record.pk), reason=reason)
        _changed()
        # The upheld dispute is the note that the peer must be told; no outbox to peers yet.
        logger.info(
            "dispute %s upheld: tell peer %s that its entry %s was disputed successfully",
            dispute.pk,
            record.peer_id,
            record.remote_seq,
        )
    return dispute
