"""The data and the people the access-control matrix asks with.

The demo data set (`seed_demo`) holds records in most states; the few record types it leaves
empty get one row each here, so that every admin page with an object id has a real object to
open. Built once per test module inside a transaction that is rolled back at the end (see
`tests/security/conftest.py`); each test then runs in its own savepoint.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from datetime import date

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.apps import apps
from django.conf import settings
from django.contrib.admin.models import ADDITION, LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from PIL import Image

from accounts import services as accounts_services
from accounts.actors import Actor
from accounts.models import Party, PartyKind, Restriction, User, WebhookEndpoint
from config.dashboard import exports
from config.dashboard.figures import Period
from credit import scoring, sharing
from credit.models import CreditScore, FeedEntry, Job, Peer, PeerRecord
from enforcement import services as enforcement_services
from enforcement.models import Appeal, Authority, Measure, Reconciliation, Referral
from enforcement.services import referrals
from tests.factories import UserFactory, totp_device

ACTOR = Actor.system("tests")

# Who asks. The non-staff roles, anonymous and a staff member who has not passed two-factor
# never reach the workbench; the verified staff reach the pages their permissions open.
NON_STAFF_ROLES = ("consumer", "merchant_staff", "anchor", "agency_staff")
STAFF_ROLES = ("compliance_reviewer", "compliance_lead", "auditor", "authority_liaison")
OUTSIDERS = ("anonymous", *NON_STAFF_ROLES, "lead_without_2fa")
VERIFIED_STAFF = ("staff_without_role", *STAFF_ROLES, "superuser")
PRINCIPALS = (*OUTSIDERS, *VERIFIED_STAFF)


@dataclass
class World:
    users: dict[str, User | None] = field(default_factory=dict)
    # principal -> session cookie value (None for anonymous)
    sessions: dict[str, str | None] = field(default_factory=dict)

    def client(self, principal: str) -> Client:
        # Errors are answers here (a 500 names the page in the report), not exceptions.
        client = Client(raise_request_exception=False)
        session = self.sessions[principal]
        if session is not None:
            client.cookies[settings.SESSION_COOKIE_NAME] = session
        return client


def _session(user: User, *, verified: bool) -> str:
    client = Client()
    client.force_login(user)
    if verified:
        device = totp_device(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def _people(world: World) -> None:
    world.users["anonymous"] = None
    world.sessions["anonymous"] = None
    for slug in NON_STAFF_ROLES:
        user = UserFactory(username=f"matrix-{slug}", roles=[slug])
        assert not user.is_staff
        # Even a second factor does not open the workbench to someone who is not staff.
        world.users[slug] = user
        world.sessions[slug] = _session(user, verified=True)
    for slug in STAFF_ROLES:
        user = UserFactory(username=f"matrix-{slug}", roles=[slug])
        assert user.is_staff
        world.users[slug] = user
        world.sessions[slug] = _session(user, verified=True)
    lead = UserFactory(username="matrix-lead-no-2fa", roles=["compliance_lead"])
    world.users["lead_without_2fa"] = lead
    world.sessions["lead_without_2fa"] = _session(lead, verified=False)
    bare = UserFactory(username="matrix-staff-no-role", is_staff=True)
    world.users["staff_without_role"] = bare
    world.sessions["staff_without_role"] = _session(bare, verified=True)
    root = UserFactory(username="matrix-root", is_staff=True, is_superuser=True)
    world.users["superuser"] = root
    world.sessions["superuser"] = _session(root, verified=True)


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def _public_key() -> str:
    raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def _records_the_demo_leaves_out(world: World) -> None:
    """One row of each record type the demo does not make, so each page has an object."""
    merchant = Party.objects.filter(kind=PartyKind.MERCHANT).order_by("pk").first()
    scoring.update_score(merchant.pk)
    assert CreditScore.objects.exists()
    peer = Peer.objects.create(
        name="友台", feed_url="https://peer.example.com/feed", public_key=_public_key()
    )
    PeerRecord.objects.create(
        peer=peer,
        remote_seq=7,
        kind="blacklist",
        consortium_hash="a" * 64,
        valid_from=timezone.localdate(),
        party=merchant,
    )
    entry = FeedEntry.objects.create(
        kind="serious_dishonesty",
        consortium_hash="b" * 64,
        party=merchant,
        source="enforcement.measure:1",
        valid_from=timezone.localdate(),
    )
    sharing.dispute_file(party=merchant, grounds="已整改完毕。", actor=ACTOR, feed_entry=entry)
    Job.objects.create(kind="recompute_all", started_by="user:lead")
    # A finished dashboard report, for its status page and its download.
    report = exports.report_job_start(
        period=Period(date(2025, 1, 1), date(2025, 6, 30)), output="csv", language="en", actor=ACTOR
    )
    exports.report_job_run(report.pk)
    WebhookEndpoint.objects.create(
        name="platform", url="http://127.0.0.1:9/", secret="s", topics=["ping"]
    )
    accounts_services.webhook_emit(topic="ping", data={"requested_by": "tests"})
    Reconciliation.objects.create(accounts_checked=4)
    measure = Measure.objects.filter(executed_at__isnull=False).order_by("pk").first()
    authority = Authority.objects.order_by("pk").first()
    referrals.ensure_dossier(Referral.objects.create(measure=measure, authority=authority))
    # A second party's restriction and forwarded case, so that each party-bound key has
    # another party's to be refused.
    restricted = Restriction.objects.values("party_id")
    accounts_services.restriction_impose(
        party=Party.objects.exclude(pk__in=restricted).order_by("pk").first(),
        kind="traffic",
        reason="测试限制。",
        actor=ACTOR,
    )
    # A second party's appeal, so that a party's key has another party's appeal to be refused.
    appealed = Appeal.objects.values("measure__party_id")
    other = (
        Measure.objects.filter(executed_at__isnull=False, appeal__isnull=True)
        .exclude(party_id__in=appealed)
        .order_by("pk")
        .first()
    )
    enforcement_services.appeal_file(
        measure=other,
        grounds="处罚过重。",
        contact="13800000000",
        channel=Appeal.Channel.API,
        actor=ACTOR,
    )
    enforcement_services.evidence_add_file(
        violation=measure.violation,
        upload=SimpleUploadedFile("scan.png", _png(), content_type="image/png"),
        description="直播截图",
        actor=Actor.for_user(world.users["superuser"]),
    )
    LogEntry.objects.log_actions(
        user_id=world.users["superuser"].pk,
        queryset=[authority],
        action_flag=ADDITION,
        change_message="",
        single_object=True,
    )
    for model in (AccessAttempt, AccessLog, AccessFailureLog):
        values = {"user_agent": "tests", "ip_address": "127.0.0.1", "username": "nobody"}
        if model is AccessAttempt:
            values.update(get_data="", post_data="", failures_since_start=1)
        elif model is AccessFailureLog:
            values.update(locked_out=False)
        model.objects.create(**values)


def build() -> World:
    world = World()
    call_command("seed_demo", stdout=io.StringIO())
    _people(world)
    _records_the_demo_leaves_out(world)
    empty = [
        model._meta.label_lower
        for model in apps.get_models()
        if model._meta.app_label in settings.PRODUCT_APPS and not model.objects.exists()
    ]
    world.empty_models = empty
    return world
