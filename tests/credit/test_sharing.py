"""Cross-platform sharing (joint discipline, LCM Art. 14): consortium hashes, our signed feed and
what goes into it, pulling a peer's feed from a local server, matching, the entry check and the
go-live gate, revocations, and disputes both ways."""

from __future__ import annotations

import base64
import json
import threading
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.actors import Actor
from accounts.demo import make_credit_code
from accounts.entry_checks import Candidate, run_entry_checks
from accounts.identity import identity_hash
from accounts.models import Party
from config.errors import Conflict
from credit import scoring, sharing, sharing_tasks
from credit.models import (
    ConsortiumIdentity,
    CreditEvent,
    Dispute,
    FeedEntry,
    Peer,
    PeerRecord,
)
from tests.factories import TEST_ACTOR, UserFactory
from tests.liverooms import conftest as go_live

# The go-live world as a fixture here too: an approved merchant with a product and a room, and an
# approved, trained anchor, each with a registration file to hash.
world = go_live.world

KEY_A = "consortium-key-of-the-test-consortium-0001"
KEY_B = "consortium-key-of-another-consortium-00002"


@pytest.fixture(autouse=True)
def fresh_caches(settings):
    settings.CREDIT_PEER_ALLOW_LOOPBACK_HTTP = True
    scoring.forget_rules()
    sharing.forget_shared_blacklists()
    yield
    scoring.forget_rules()
    sharing.forget_shared_blacklists()


@pytest.fixture
def lead():
    return Actor.for_user(UserFactory(roles=["compliance_lead"]))


def _b64_public(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def _id_number(party: Party) -> str:
    from accounts.registration import file_id_number

    return file_id_number(party.registration_file)


# --- a peer platform, served from loopback ------------------------------------------------------


class PeerFeed:
    """Another platform's feed: its entries, signed with its own key, paged by `after`. `sign_with`
    and `tamper` make it misbehave."""

    def __init__(self, name: str = "乙平台") -> None:
        self.name = name
        self.key = Ed25519PrivateKey.generate()
        self.sign_with: Ed25519PrivateKey | None = None
        self.announce: Ed25519PrivateKey | None = None  # the key it will sign with next
        self.tamper = None
        self.status = 200
        self.entries: list[dict] = []
        self.requests: list[tuple[str, str]] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/api/v1/credit/feed/"

    def add(self, kind: str, consortium_hash: str, *, revokes=None, days=(-10, 355)) -> int:
        seq = len(self.entries) + 1
        today = timezone.localdate()
        self.entries.append(
            {
                "seq": seq,
                "kind": kind,
                "consortium_hash": consortium_hash,
                "valid_from": (today + timedelta(days=days[0])).isoformat(),
                "valid_until": (today + timedelta(days=days[1])).isoformat()
                if days[1] is not None
                else None,
                "revokes": revokes,
                "published_at": timezone.now().isoformat(),
            }
        )
        return seq

    def page(self, after: int, limit: int) -> dict:
        entries = [e for e in self.entries if e["seq"] > after][:limit]
        document = {
            "platform": self.name,
            "entries": entries,
            "next_after": entries[-1]["seq"] if entries else after,
        }
        if self.announce is not None:
            document["next_public_key"] = _b64_public(self.announce)
        signed = sharing.sign(document, self.sign_with or self.key)
        return self.tamper(signed) if self.tamper else signed

    def _handler(self):
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                query = parse_qs(urlsplit(self.path).query)
                feed.requests.append((self.path, self.headers.get("Authorization", "")))
                after = int(query.get("after", ["0"])[0])
                limit = int(query.get("limit", ["500"])[0])
                body = json.dumps(feed.page(after, limit)).encode()
                self.send_response(feed.status)
                if feed.status in (301, 302):
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Handler

    def __enter__(self) -> PeerFeed:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def peer_feed(settings):
    with PeerFeed() as feed:
        settings.CREDIT_PEER_API_KEYS = {feed.name: "token-the-peer-issued-us"}
        yield feed


@pytest.fixture
def peer(peer_feed, lead):
    return sharing.peer_register(
        name=peer_feed.name,
        feed_url=peer_feed.url,
        public_key=_b64_public(peer_feed.key),
        actor=lead,
    )


def _shared_blacklist_failures(identifier: str) -> list:
    candidate = Candidate(
        kind="anchor", identity_hash=identity_hash(identifier), identifier=identifier
    )
    return run_entry_checks(candidate, only=["shared_blacklist"])


# --- consortium identities ---------------------------------------------------------------------


def test_the_same_id_number_hashes_alike_on_two_platforms_and_differently_under_another_key():
    identifier = "33010619900101123X"
    on_platform_a = sharing.consortium_hash(identifier, key=KEY_A)
    on_platform_b = sharing.consortium_hash("3301 0619 9001 0112 3x", key=KEY_A)
    assert on_platform_a == on_platform_b
    assert len(on_platform_a) == 64
    assert sharing.consortium_hash(identifier, key=KEY_B) != on_platform_a
    assert sharing.consortium_hash("330106199001011248", key=KEY_A) != on_platform_a
    # Not the registry's own keyed hash: that key never leaves this platform.
    assert identity_hash(identifier) != sharing.consortium_hash(identifier)


def test_an_identity_is_computed_from_the_file_once_and_stored(world):
    anchor = world.anchor
    expected = sharing.consortium_hash(_id_number(anchor))
    assert not ConsortiumIdentity.objects.filter(party=anchor).exists()
    assert sharing.consortium_identity_for(anchor) == expected
    assert ConsortiumIdentity.objects.get(party=anchor).consortium_hash == expected
    assert sharing.consortium_identity_for(anchor.pk) == expected
    assert ConsortiumIdentity.objects.filter(party=anchor).count() == 1


def test_the_backfill_computes_every_missing_identity_and_reports_progress(world):
    from credit.models import Job

    job = Job.objects.create(kind="consortium_identities", started_by="tests")
    sharing_tasks.backfill_consortium_identities(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.done == job.total >= 2
    merchant_code = world.merchant.registration_file.credit_code
    assert ConsortiumIdentity.objects.get(party=world.merchant).consortium_hash == (
        sharing.consortium_hash(merchant_code)
    )
    assert ConsortiumIdentity.objects.filter(party=world.anchor).exists()


# --- our feed -------------------------------------------------------------------------------------


_keys = iter(range(1, 10**6))


def _feed_client(make_key, scopes=("credit:feed",), party=None) -> APIClient:
    _key, raw = make_key(scopes=scopes, party=party, name=f"peer-key-{next(_keys)}")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def _publish_for(party: Party, source: str = "test:1") -> FeedEntry:
    return sharing.blacklist_publish(
        party_id=party.pk,
        source=source,
        starts_at=timezone.now(),
        ends_at=timezone.now() + timedelta(days=365),
    )


def test_our_feed_is_signed_and_verifies_with_the_published_key(world, make_key):
    entry = _publish_for(world.merchant)  # a business: its hash needs no decryption
    response = _feed_client(make_key).get("/api/v1/credit/feed/?after=0&limit=10")
    assert response.status_code == 200
    page = response.json()
    key = APIClient().get("/api/v1/credit/feed/key/").json()
    assert key["algorithm"] == "Ed25519"
    body = sharing.verify(page, key["public_key"])
    assert body["next_after"] == entry.seq
    [shared] = body["entries"]
    # Hashes and dates only: no name, no ID number, no party id.
    assert set(shared) == {
        "seq",
        "kind",
        "consortium_hash",
        "valid_from",
        "valid_until",
        "revokes",
        "published_at",
    }
    code = world.merchant.registration_file.credit_code
    assert shared["consortium_hash"] == sharing.consortium_hash(code)
    assert shared["kind"] == "blacklist" and shared["valid_until"] == entry.valid_until.isoformat()
    assert (
        code not in response.content.decode()
        and world.merchant.name not in response.content.decode()
    )
    # Nothing after the last entry.
    later = _feed_client(make_key).get(f"/api/v1/credit/feed/?after={entry.seq}")
    assert later.json()["entries"] == [] and later.json()["next_after"] == entry.seq


def test_a_changed_entry_a_changed_signature_or_another_key_is_refused(world):
    _publish_for(world.merchant)
    page = sharing.feed_page(after=0)
    ours = sharing.public_key()
    assert sharing.verify(page, ours)["entries"]

    changed_entry = json.loads(json.dumps(page))
    changed_entry["entries"][0]["valid_until"] = "2099-12-31"
    changed_signature = dict(page)
    raw = bytearray(base64.b64decode(page["signature"]))
    raw[0] ^= 1
    changed_signature["signature"] = base64.b64encode(bytes(raw)).decode()
    unsigned = {k: v for k, v in page.items() if k != "signature"}
    for document, key in [
        (changed_entry, ours),
        (changed_signature, ours),
        (page, _b64_public(Ed25519PrivateKey.generate())),
        (unsigned, ours),
        (sharing.sign(unsigned, Ed25519PrivateKey.generate()), ours),
    ]:
        with pytest.raises(sharing.FeedError):
            sharing.verify(document, key)


def test_our_pages_name_their_key_and_announce_the_next_one_under_the_current_signature(
    world, make_key, settings
):
    _publish_for(world.merchant)
    current = sharing.public_key()
    page = sharing.feed_page(after=0)
    assert page["key_id"] == sharing.key_id(current) and len(page["key_id"]) == 16
    assert "next_public_key" not in page
    key = APIClient().get("/api/v1/credit/feed/key/").json()
    assert key["key_id"] == page["key_id"] and "next_public_key" not in key

    following = Ed25519PrivateKey.generate()
    raw = following.private_bytes_raw()
    settings.CREDIT_FEED_NEXT_SIGNING_KEY = base64.b64encode(raw).decode()
    announced = sharing.feed_page(after=0)
    assert sharing.verify(announced, current)["next_public_key"] == _b64_public(following)
    key = APIClient().get("/api/v1/credit/feed/key/").json()
    assert key["public_key"] == current and key["next_public_key"] == _b64_public(following)

    # The change of key: the next key signs, and no next one is announced.
    settings.CREDIT_FEED_SIGNING_KEY, settings.CREDIT_FEED_NEXT_SIGNING_KEY = (
        settings.CREDIT_FEED_NEXT_SIGNING_KEY,
        "",
    )
    changed = sharing.feed_page(after=0)
    assert sharing.verify(changed, _b64_public(following))["key_id"] == sharing.key_id(
        _b64_public(following)
    )
    with pytest.raises(sharing.FeedError):
        sharing.verify(changed, current)
    # A next key equal to the current one announces nothing.
    settings.CREDIT_FEED_NEXT_SIGNING_KEY = settings.CREDIT_FEED_SIGNING_KEY
    assert "next_public_key" not in sharing.feed_page(after=0)


def test_the_feed_needs_the_credit_feed_scope_and_a_key_of_no_party(world, make_key):
    _publish_for(world.merchant)
    assert APIClient().get("/api/v1/credit/feed/").status_code == 401
    assert (
        _feed_client(make_key, scopes=("parties:read",)).get("/api/v1/credit/feed/").status_code
        == 403
    )
    bound = _feed_client(make_key, party=world.merchant)
    assert bound.get("/api/v1/credit/feed/").status_code == 403
    client = _feed_client(make_key)
    assert client.get("/api/v1/credit/feed/").status_code == 200
    assert client.get("/api/v1/credit/feed/?limit=501").status_code == 400
    assert client.get("/api/v1/credit/feed/?after=-1").status_code == 400


def test_an_entry_waiting_for_its_identity_holds_back_the_feed_until_the_worker_completes_it(world):
    # A natural person: the hash needs the ID number decrypted, which only the worker does.
    waiting = _publish_for(world.anchor, source="test:anchor")
    assert waiting.consortium_hash == ""
    after_it = _publish_for(world.merchant, source="test:merchant")
    assert after_it.consortium_hash
    assert sharing.feed_page(after=0)["entries"] == []  # nothing is skipped past it
    assert sharing_tasks.complete_feed_entries() == 1
    entries = sharing.feed_page(after=0)["entries"]
    assert [e["seq"] for e in entries] == [waiting.seq, after_it.seq]
    assert entries[0]["consortium_hash"] == sharing.consortium_hash(_id_number(world.anchor))


def test_a_party_without_an_identifier_on_file_is_not_shared(db):
    from tests.factories import register_party

    bare = register_party("merchant")  # registered without a file: nothing to hash
    assert _publish_for(bare) is None
    assert not FeedEntry.objects.exists()


# --- what we publish ---------------------------------------------------------------------------


def _blacklist(world, lead, party: Party):
    from enforcement import services
    from enforcement.models import ViolationType

    reviewer = world.reviewer
    violation = services.violation_raise(
        party=party, source="reviewer", facts="多次引导线下交易。", actor=reviewer
    )
    violation = services.violation_confirm(
        violation=violation,
        vtype=ViolationType.objects.get(code="repeat_serious", status="published"),
        actor=reviewer,
    )
    measure = services.measure_propose(
        violation=violation,
        proposal=services.Proposal(
            kind="blacklist", reason="严重违规，列入黑名单。", term_days=365
        ),
        actor=lead,
    )
    second = Actor.for_user(UserFactory(roles=["compliance_lead"]))
    return services.measure_approve(measure=measure, actor=second), second


def test_a_blacklisting_is_published_once_and_its_reversal_lifts_it_once(world, lead):
    from enforcement import services
    from enforcement.services import credit_events

    sharing.consortium_identity_for(world.merchant)
    measure, _approver = _blacklist(world, lead, world.merchant)
    entry = FeedEntry.objects.get(kind="blacklist")
    assert entry.source == f"enforcement.measure:{measure.pk}"
    assert entry.valid_until == timezone.localdate(measure.ends_at)
    credit_events.blacklist_shared(measure)  # a retried hook publishes nothing more
    assert FeedEntry.objects.count() == 1

    appeal = services.appeal_file(measure=measure, grounds="误判。", channel="api", actor=lead)
    third = Actor.for_user(UserFactory(roles=["compliance_lead"]))
    services.appeal_decide(appeal=appeal, reverse=True, reason="证据不足。", actor=third)
    lifted = FeedEntry.objects.get(kind="blacklist_lifted")
    assert lifted.revokes_id == entry.seq and lifted.consortium_hash == entry.consortium_hash
    # The term running out later does not lift it a second time.
    credit_events.blacklist_unshared(measure)
    assert FeedEntry.objects.filter(kind="blacklist_lifted").count() == 1


def test_a_blacklisting_whose_term_ends_is_lifted_in_the_feed(world, lead):
    from enforcement.models import Measure
    from enforcement.services.measures import lift_expired

    measure, _approver = _blacklist(world, lead, world.merchant)
    Measure.objects.filter(pk=measure.pk).update(ends_at=timezone.now() - timedelta(minutes=1))
    assert lift_expired() >= 1
    lifted = FeedEntry.objects.get(kind="blacklist_lifted")
    assert lifted.revokes == FeedEntry.objects.get(kind="blacklist")


def test_a_serious_dishonesty_entry_of_a_party_here_is_published(world):
    from credit.services import sanctions_import_csv

    code = world.merchant.registration_file.credit_code
    content = (
        "kind,name,identifier,authority,reference,decided_on,ends_on\n"
        f"serious_dishonesty,某公司,{code},某局,某失信〔2026〕1号,2026-01-05,2029-01-04\n"
        f"administrative_penalty,某公司,{code},某局,某罚〔2026〕2号,2026-01-06,\n"
    ).encode()
    sanctions_import_csv(content=content, actor=TEST_ACTOR)
    [entry] = FeedEntry.objects.all()
    assert (entry.kind, entry.valid_from, entry.valid_until) == (
        "serious_dishonesty",
        date(2026, 1, 5),
        date(2029, 1, 4),
    )
    assert entry.consortium_hash == sharing.consortium_hash(code)


# --- pulling a peer's feed ---------------------------------------------------------------------


def _anchor_hash(world) -> str:
    return sharing.consortium_hash(_id_number(world.anchor))


def test_a_pull_stores_each_record_once_matches_the_party_and_the_checks_refuse_it(
    world, peer, peer_feed
):
    sharing_tasks.backfill_consortium_identities()  # the anchor's identity, as the worker does
    blacklisted = peer_feed.add("blacklist", _anchor_hash(world))
    peer_feed.add("serious_dishonesty", "ab" * 32)  # someone not registered here
    assert world.go_live().status_code == 201

    report = sharing_tasks.pull_peer(peer.pk)
    assert report["stored"] == 2 and report["matched"] == 1 and not report["error"]
    path, authorization = peer_feed.requests[0]
    assert "after=0" in path and authorization == "Bearer token-the-peer-issued-us"
    peer.refresh_from_db()
    assert (peer.last_seq, peer.last_error) == (2, "")
    record = PeerRecord.objects.get(peer=peer, remote_seq=blacklisted)
    assert record.party_id == world.anchor.pk
    event = CreditEvent.objects.get(party=world.anchor, kind="shared_record")
    assert (event.rule, event.points, event.source) == (
        "shared.blacklist",
        -300,
        f"credit.peerrecord:{record.pk}",
    )

    # Twice: from where it stopped, and again from the start -- nothing is stored twice.
    sharing_tasks.pull_peer(peer.pk)
    Peer.objects.filter(pk=peer.pk).update(last_seq=0)
    again = sharing_tasks.pull_peer(peer.pk)
    assert again["stored"] == 0 and again["received"] == 2
    assert PeerRecord.objects.count() == 2
    assert CreditEvent.objects.filter(party=world.anchor, kind="shared_record").count() == 1

    # The identity may not register again here, in any role...
    [failure] = _shared_blacklist_failures(_id_number(world.anchor))
    assert failure.code == "shared_blacklist" and peer_feed.name in failure.message
    # ... and the party may not go live.
    response = world.go_live()
    assert response.status_code == 403
    reasons = response.json()["reasons"]
    assert [(r["code"], r["party_id"]) for r in reasons] == [("shared_blacklist", world.anchor.pk)]


def test_a_revocation_propagates_the_record_is_revoked_its_event_reversed_the_checks_pass(
    world, peer, peer_feed
):
    sharing_tasks.backfill_consortium_identities()
    first = peer_feed.add("blacklist", _anchor_hash(world))
    sharing_tasks.pull_peer(peer.pk)
    assert world.go_live().status_code == 403

    peer_feed.add("blacklist_lifted", _anchor_hash(world), revokes=first, days=(0, None))
    report = sharing_tasks.pull_peer(peer.pk)
    assert report["revoked"] == 1
    record = PeerRecord.objects.get(peer=peer, remote_seq=first)
    assert record.revoked_at is not None
    shared = CreditEvent.objects.get(source=f"credit.peerrecord:{record.pk}")
    assert CreditEvent.objects.get(reverses=shared).points == 300
    assert scoring.explain(world.anchor).score == 1000
    assert _shared_blacklist_failures(_id_number(world.anchor)) == []
    assert world.go_live().status_code == 201


def test_a_correction_replaces_the_record_it_names(world, peer, peer_feed):
    sharing_tasks.backfill_consortium_identities()
    first = peer_feed.add("blacklist", _anchor_hash(world), days=(-10, 355))
    peer_feed.add("blacklist", _anchor_hash(world), revokes=first, days=(-10, 20))
    sharing_tasks.pull_peer(peer.pk)
    assert PeerRecord.objects.get(remote_seq=first).revoked_at is not None
    standing = sharing.shared_blacklist_for_identifier(
        _id_number(world.anchor), today=timezone.localdate()
    )
    assert standing.remote_seq == 2
    assert standing.valid_until == timezone.localdate() + timedelta(days=20)


def test_a_party_registered_after_the_pull_is_matched_when_its_identity_is_computed(
    world, peer, peer_feed
):
    peer_feed.add("blacklist", _anchor_hash(world))
    sharing_tasks.pull_peer(peer.pk)  # the anchor's identity is not computed yet
    record = PeerRecord.objects.get()
    assert record.party_id is None
    assert not CreditEvent.objects.filter(kind="shared_record").exists()
    sharing_tasks.backfill_consortium_identities()
    record.refresh_from_db()
    assert record.party_id == world.anchor.pk
    assert CreditEvent.objects.filter(party=world.anchor, kind="shared_record").count() == 1
    assert world.go_live().status_code == 403


def test_a_peer_that_announced_its_next_key_is_read_after_it_changes_keys(world, peer, peer_feed):
    sharing_tasks.backfill_consortium_identities()
    peer_feed.add("blacklist", _anchor_hash(world))
    following = Ed25519PrivateKey.generate()
    peer_feed.announce = following
    assert not sharing_tasks.pull_peer(peer.pk)["error"]
    peer.refresh_from_db()
    assert peer.next_public_key == _b64_public(following)
    assert peer.public_key == _b64_public(peer_feed.key) and peer.key_rotated_at is None

    # The peer changes keys: its pages verify with the announced key only.
    peer_feed.key, peer_feed.announce = following, None
    peer_feed.add("serious_dishonesty", _anchor_hash(world))
    report = sharing_tasks.pull_peer(peer.pk)
    assert not report["error"] and report["received"] == 1
    peer.refresh_from_db()
    assert peer.public_key == _b64_public(following)
    assert peer.next_public_key == "" and peer.key_rotated_at is not None
    assert PeerRecord.objects.count() == 2


def test_a_key_nobody_announced_is_never_taken(world, peer, peer_feed):
    sharing_tasks.backfill_consortium_identities()
    peer_feed.add("blacklist", _anchor_hash(world))
    announced = Ed25519PrivateKey.generate()
    peer_feed.announce = announced
    sharing_tasks.pull_peer(peer.pk)
    # Signed with a third key, announcing it in the page itself: refused, nothing changes.
    impostor = Ed25519PrivateKey.generate()
    peer_feed.sign_with, peer_feed.announce = impostor, impostor
    peer_feed.add("serious_dishonesty", _anchor_hash(world))
    report = sharing_tasks.pull_peer(peer.pk)
    assert report["error"]
    peer.refresh_from_db()
    assert peer.public_key == _b64_public(peer_feed.key)
    assert peer.next_public_key == _b64_public(announced)
    assert PeerRecord.objects.count() == 1
    # An announcement that is not a key refuses the page it came in.
    peer_feed.sign_with, peer_feed.announce = None, None
    peer_feed.tamper = lambda document: sharing.sign(
        {**{k: v for k, v in document.items() if k != "signature"}, "next_public_key": "nope"},
        peer_feed.key,
    )
    assert sharing_tasks.pull_peer(peer.pk)["error"]
    assert PeerRecord.objects.count() == 1


@pytest.mark.parametrize(
    "misbehave",
    [
        "another_key",
        "changed_entry",
        "seq_not_increasing",
        "next_after_skips",
        "bad_hash",
        "redirect",
        "server_error",
    ],
)
def test_a_page_that_does_not_verify_or_is_malformed_stores_nothing(
    world, peer, peer_feed, misbehave
):
    sharing_tasks.backfill_consortium_identities()
    peer_feed.add("blacklist", _anchor_hash(world))
    peer_feed.add("serious_dishonesty", _anchor_hash(world))

    def resigned(change):
        def tamper(document):
            body = {k: v for k, v in json.loads(json.dumps(document)).items() if k != "signature"}
            change(body)
            return sharing.sign(body, peer_feed.key)

        return tamper

    if misbehave == "another_key":
        peer_feed.sign_with = Ed25519PrivateKey.generate()
    elif misbehave == "changed_entry":

        def tamper(document):
            document = json.loads(json.dumps(document))
            document["entries"][0]["kind"] = "serious_dishonesty"
            return document

        peer_feed.tamper = tamper
    elif misbehave == "seq_not_increasing":
        peer_feed.tamper = resigned(lambda body: body["entries"].reverse())
    elif misbehave == "next_after_skips":
        peer_feed.tamper = resigned(lambda body: body.update(next_after=99))
    elif misbehave == "bad_hash":
        peer_feed.tamper = resigned(lambda body: body["entries"][1].update(consortium_hash="x"))
    elif misbehave == "redirect":
        peer_feed.status = 302
    else:
        peer_feed.status = 500

    report = sharing_tasks.pull_peer(peer.pk)
    assert report["error"]
    peer.refresh_from_db()
    assert peer.last_error and peer.last_seq == 0
    assert not PeerRecord.objects.exists()
    assert not CreditEvent.objects.filter(kind="shared_record").exists()
    assert world.go_live().status_code == 201


def test_a_peers_feed_is_read_over_https_only(db, lead, settings):
    settings.CREDIT_PEER_ALLOW_LOOPBACK_HTTP = False
    public = _b64_public(Ed25519PrivateKey.generate())
    with pytest.raises(ValidationError):
        sharing.peer_register(
            name="丙", feed_url="http://127.0.0.1:9/feed/", public_key=public, actor=lead
        )
    settings.CREDIT_PEER_ALLOW_LOOPBACK_HTTP = True
    with pytest.raises(ValidationError):  # loopback only, even then
        sharing.peer_register(
            name="丙", feed_url="http://peer.example.cn/feed/", public_key=public, actor=lead
        )
    with pytest.raises(ValidationError):
        sharing.peer_register(
            name="丙", feed_url="https://peer.example.cn/feed/", public_key="c2hvcnQ=", actor=lead
        )
    reviewer = Actor.for_user(UserFactory(roles=["compliance_reviewer"]))
    with pytest.raises(PermissionDenied):
        sharing.peer_register(
            name="丙", feed_url="https://peer.example.cn/feed/", public_key=public, actor=reviewer
        )
    peer = sharing.peer_register(
        name="丙", feed_url="https://peer.example.cn/feed/", public_key=public, actor=lead
    )
    assert peer.last_seq == 0


# --- disputes ----------------------------------------------------------------------------------


def test_a_disputed_peer_record_counts_while_open_and_stops_counting_once_upheld(
    world, peer, peer_feed, lead
):
    sharing_tasks.backfill_consortium_identities()
    peer_feed.add("blacklist", _anchor_hash(world))
    sharing_tasks.pull_peer(peer.pk)
    record = PeerRecord.objects.get()
    with pytest.raises(ValidationError):  # not the merchant's record
        sharing.dispute_file(
            party=world.merchant, peer_record=record, grounds="不是我。", actor=TEST_ACTOR
        )
    dispute = sharing.dispute_file(
        party=world.anchor, peer_record=record, grounds="身份被冒用。", actor=TEST_ACTOR
    )
    with pytest.raises(Conflict):
        sharing.dispute_file(
            party=world.anchor, peer_record=record, grounds="再次。", actor=TEST_ACTOR
        )
    # Open: the peer's decision still stands here.
    assert _shared_blacklist_failures(_id_number(world.anchor))
    assert world.go_live().status_code == 403

    reviewer = Actor.for_user(UserFactory(roles=["compliance_reviewer"]))
    with pytest.raises(PermissionDenied):
        sharing.dispute_decide(dispute=dispute, uphold=True, decision="核实。", actor=reviewer)
    decided = sharing.dispute_decide(
        dispute=dispute, uphold=True, decision="身份证明显示并非本人。", actor=lead
    )
    assert decided.status == Dispute.Status.UPHELD and decided.decided_by == lead.label
    with pytest.raises(Conflict):
        sharing.dispute_decide(dispute=dispute, uphold=False, decision="x", actor=lead)
    assert _shared_blacklist_failures(_id_number(world.anchor)) == []
    assert world.go_live().status_code == 201
    shared = CreditEvent.objects.get(source=f"credit.peerrecord:{record.pk}")
    assert CreditEvent.objects.filter(reverses=shared).exists()
    record.refresh_from_db()
    assert record.revoked_at is None  # only the peer revokes its record; ours is the dispute


def test_a_rejected_dispute_leaves_the_peer_record_in_force(world, peer, peer_feed, lead):
    sharing_tasks.backfill_consortium_identities()
    peer_feed.add("blacklist", _anchor_hash(world))
    sharing_tasks.pull_peer(peer.pk)
    dispute = sharing.dispute_file(
        party=world.anchor, peer_record=PeerRecord.objects.get(), grounds="不服。", actor=TEST_ACTOR
    )
    sharing.dispute_decide(dispute=dispute, uphold=False, decision="记录属实。", actor=lead)
    assert _shared_blacklist_failures(_id_number(world.anchor))
    assert not CreditEvent.objects.filter(kind="reversal").exists()


def test_upholding_a_dispute_of_our_entry_revokes_it_in_the_feed_and_here(world, lead, make_key):
    from credit.services import sanctions_import_csv

    code = world.merchant.registration_file.credit_code
    sanctions_import_csv(
        content=(
            "kind,name,identifier,authority,reference,decided_on,ends_on\n"
            f"serious_dishonesty,某公司,{code},某局,某失信〔2026〕9号,2026-01-05,\n"
        ).encode(),
        actor=TEST_ACTOR,
    )
    entry = FeedEntry.objects.get()
    sanction = CreditEvent.objects.get(party=world.merchant, kind="sanction")
    other = Party.objects.get(pk=world.anchor.pk)
    with pytest.raises(ValidationError):
        sharing.dispute_file(party=other, feed_entry=entry, grounds="x", actor=TEST_ACTOR)
    dispute = sharing.dispute_file(
        party=world.merchant, feed_entry=entry, grounds="信用码录入错误。", actor=TEST_ACTOR
    )
    sharing.dispute_decide(dispute=dispute, uphold=True, decision="录入错误，撤销。", actor=lead)
    revocation = FeedEntry.objects.get(kind="blacklist_lifted")
    assert revocation.revokes == entry and revocation.source == f"credit.dispute:{dispute.pk}"
    assert CreditEvent.objects.filter(reverses=sanction).exists()
    body = sharing.verify(
        _feed_client(make_key).get("/api/v1/credit/feed/").json(), sharing.public_key()
    )
    assert [(e["kind"], e["revokes"]) for e in body["entries"]] == [
        ("serious_dishonesty", None),
        ("blacklist_lifted", entry.seq),
    ]
    # A revoked entry is not disputed again.
    with pytest.raises(Conflict):
        sharing.dispute_file(
            party=world.merchant, feed_entry=entry, grounds="再次。", actor=TEST_ACTOR
        )


def test_our_feed_read_by_a_peer_platform_round_trips(world, lead, peer_feed):
    """Two platforms: what we publish, the other side pulls, verifies and matches."""
    entry = _publish_for(world.merchant)
    # Our pages, served from loopback as a peer would fetch them.
    pages = {0: sharing.feed_page(after=0), entry.seq: sharing.feed_page(after=entry.seq)}
    peer_feed.page = lambda after, limit: pages[after]
    peer = sharing.peer_register(
        name="本平台", feed_url=peer_feed.url, public_key=sharing.public_key(), actor=lead
    )
    report = sharing.pull_peer(peer)
    assert (report.stored, report.matched, report.error) == (1, 1, "")
    record = PeerRecord.objects.get(peer=peer)
    assert record.consortium_hash == sharing.consortium_hash(
        world.merchant.registration_file.credit_code
    )
    assert record.party_id == world.merchant.pk  # the same consortium key: the same party


def test_a_credit_code_typed_with_spaces_or_in_lower_case_hashes_alike():
    code = make_credit_code("330106", 12_345_678)
    spaced = " ".join([code[:6], code[6:].lower()])
    assert sharing.consortium_hash(code) == sharing.consortium_hash(spaced)


@pytest.mark.postgres
def test_publishing_holds_the_feed_lock_until_commit_so_entries_commit_in_sequence_order(world):
    from django.db import connection, transaction

    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers itself; the advisory lock is PostgreSQL's")
    with transaction.atomic():
        _publish_for(world.merchant)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND pid = pg_backend_pid() AND objid = %s",
                [sharing._FEED_LOCK & 0xFFFFFFFF],
            )
            assert cursor.fetchone()[0] == 1
