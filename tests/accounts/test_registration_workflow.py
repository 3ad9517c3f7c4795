"""The registration workflow at the services level: creation, every transition and its guards,
the entry checks again at approval, new versions of an approved file, two reviewers at once,
revealing an identity number and the 6-month re-verification sweep."""

import itertools
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from accounts import registration, services
from accounts.actors import Actor
from accounts.demo import make_credit_code, make_resident_id
from accounts.identity import identity_hash
from accounts.models import (
    DocumentKind,
    DocumentReview,
    FileDocument,
    FileEvent,
    FileStatus,
    FileVersion,
    Party,
    PartyEvent,
    PartyKind,
    RegistrationFile,
    RestrictionKind,
    WebhookDelivery,
)
from accounts.registration import ChangeItem
from accounts.workdays import add_working_days
from anchors import services as anchor_services
from config.errors import Conflict
from merchants import services as merchant_services
from merchants.models import Category, EntityType, LicenceKind
from merchants.services import LicenceData
from tests.factories import TEST_ACTOR

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_media")]

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)
REGION = "110105"  # Beijing Chaoyang: a valid region code for every birth year used here
_serial = itertools.count(1)

DECISION_KINDS = (
    FileEvent.Kind.APPROVED,
    FileEvent.Kind.REJECTED,
    FileEvent.Kind.CHANGES_REQUESTED,
)


@pytest.fixture(autouse=True)
def _today(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def endpoint():
    """The platform's webhook receiver. Nothing listens there; the outbox rows are what count."""
    endpoint, _secret = services.webhook_endpoint_create(
        name="platform", url="http://127.0.0.1:9/x", actor=TEST_ACTOR
    )
    return endpoint


# --- building files ----------------------------------------------------------------------------


def credit_code() -> str:
    return make_credit_code(REGION, 50_000_000 + next(_serial))


def resident_id(birth: date = date(1991, 3, 15), female: bool = False) -> str:
    return make_resident_id(REGION, birth, next(_serial) % 500, female)


def business_licence(**overrides) -> LicenceData:
    fields = {
        "kind": LicenceKind.BUSINESS,
        "number": "110105000123456",
        "issuer": "北京市朝阳区市场监督管理局",
        "valid_from": date(2020, 1, 1),
    }
    return LicenceData(**{**fields, **overrides})


def merchant_file(**overrides) -> RegistrationFile:
    """An enterprise selling general merchandise with a business licence: passes every check."""
    fields = {
        "kind": PartyKind.MERCHANT,
        "entity_type": EntityType.ENTERPRISE,
        "name": "北京好物商贸有限公司",
        "representative": "张三",
        "contact_phone": "13812345678",
        "address": "北京市朝阳区建国路 1 号",
        "categories": [Category.GENERAL],
        "licences": [business_licence()],
        "actor": TEST_ACTOR,
    }
    fields.update(overrides)
    if "id_number" not in fields:
        fields.setdefault("credit_code", credit_code())
    return merchant_services.business_file_create(**fields)


def natural_person_merchant(id_number: str | None = None) -> RegistrationFile:
    return merchant_file(
        entity_type=EntityType.NATURAL_PERSON, id_number=id_number or resident_id(), licences=[]
    )


def anchor_file(**overrides) -> RegistrationFile:
    """An adult anchor with no regulated topics: passes every check."""
    fields = {
        "name": "李四",
        "contact_phone": "13900001111",
        "address": "北京市朝阳区望京街 2 号",
        "actor": TEST_ACTOR,
    }
    fields.update(overrides)
    fields.setdefault("id_number", resident_id())
    return anchor_services.anchor_file_create(**fields)


def agency_file(**overrides) -> RegistrationFile:
    return merchant_file(kind=PartyKind.AGENCY, name="北京星光文化传媒有限公司", **overrides)


def make_file(kind: str, identifier: str) -> RegistrationFile:
    if kind == PartyKind.ANCHOR:
        return anchor_file(id_number=identifier)
    if kind == PartyKind.AGENCY:
        return agency_file(credit_code=identifier)
    return merchant_file(credit_code=identifier)


def identifier_for(kind: str) -> str:
    return resident_id() if kind == PartyKind.ANCHOR else credit_code()


def fresh(file: RegistrationFile) -> RegistrationFile:
    return RegistrationFile.objects.select_related("party", "sealed_version").get(pk=file.pk)


def submitted(file: RegistrationFile) -> RegistrationFile:
    result = registration.file_submit(file=file, actor=TEST_ACTOR)
    assert result.accepted, result.failures
    return fresh(file)


def approved(file: RegistrationFile, actor: Actor) -> RegistrationFile:
    registration.file_approve(file=submitted(file), actor=actor)
    return fresh(file)


def counts() -> dict[str, int]:
    return {
        "parties": Party.objects.count(),
        "files": RegistrationFile.objects.count(),
        "file_events": FileEvent.objects.count(),
        "party_events": PartyEvent.objects.count(),
    }


def approve(file, actor):
    return registration.file_approve(file=file, actor=actor)


def reject(file, actor):
    return registration.file_reject(
        file=file, reasons=["incomplete"], text="缺少经营场所证明", actor=actor
    )


def request_changes(file, actor):
    return registration.file_request_changes(
        file=file, items=[ChangeItem(reason="missing", note="请补充经营场所证明")], actor=actor
    )


DECISIONS = {"approve": approve, "reject": reject, "request_changes": request_changes}


# --- creation ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", PartyKind.values)
def test_creating_a_file_registers_its_party_and_records_the_creation(kind):
    identifier = identifier_for(kind)

    file = make_file(kind, identifier)

    party = Party.objects.get(pk=file.party_id)
    assert party.kind == kind
    assert party.identity_hash == identity_hash(identifier)
    assert (file.kind, file.status, file.version, file.sealed_version) == (
        kind,
        FileStatus.DRAFT,
        1,
        None,
    )
    event = file.events.get()
    assert (event.kind, event.version, event.actor_label) == (
        FileEvent.Kind.CREATED,
        1,
        "system:tests",
    )


@pytest.mark.parametrize("kind", PartyKind.values)
def test_creation_refuses_an_identity_already_registered_as_the_same_kind(kind):
    identifier = identifier_for(kind)
    make_file(kind, identifier)
    before = counts()

    with translation.override("en"), pytest.raises(ValidationError) as refused:
        make_file(kind, identifier)

    assert "already registered" in " ".join(refused.value.messages)
    assert counts() == before


def test_the_same_person_may_register_as_merchant_and_as_anchor():
    id_number = resident_id()

    merchant = natural_person_merchant(id_number)
    anchor = anchor_file(id_number=id_number)

    assert merchant.party_id != anchor.party_id
    assert merchant.party.identity_hash == anchor.party.identity_hash == identity_hash(id_number)


@pytest.mark.parametrize(
    "restriction, message",
    [
        (RestrictionKind.RE_REGISTRATION, "banned from registering again"),
        (RestrictionKind.BLACKLIST, "blacklisted"),
    ],
)
def test_an_identity_banned_under_another_kind_is_refused_at_creation(restriction, message):
    id_number = resident_id()
    banned = natural_person_merchant(id_number)
    services.restriction_impose(
        party=banned.party, kind=restriction, reason="虚假宣传屡教不改", actor=TEST_ACTOR
    )
    before = counts()

    with translation.override("en"), pytest.raises(ValidationError) as refused:
        anchor_file(id_number=id_number)

    assert message in " ".join(refused.value.messages)
    assert counts() == before


@pytest.mark.parametrize("how", ["ended", "lifted"])
def test_a_ban_no_longer_in_force_does_not_block_a_new_registration(how):
    id_number = resident_id()
    banned = natural_person_merchant(id_number)
    now = timezone.now()
    ban = services.restriction_impose(
        party=banned.party,
        kind=RestrictionKind.RE_REGISTRATION,
        reason="禁止重新注册",
        actor=TEST_ACTOR,
        starts_at=now - timedelta(days=400),
        ends_at=now - timedelta(days=1) if how == "ended" else None,
    )
    if how == "lifted":
        services.restriction_lift(restriction=ban, reason="复议撤销", actor=TEST_ACTOR)

    file = anchor_file(id_number=id_number)

    assert registration.file_submit(file=file, actor=TEST_ACTOR).accepted


# --- submitting and taking ---------------------------------------------------------------------


def test_submitting_a_draft_puts_it_in_the_review_queue():
    file = merchant_file()

    result = registration.file_submit(file=file, actor=TEST_ACTOR)

    assert (result.accepted, result.failures) == (True, [])
    file = fresh(file)
    assert file.status == FileStatus.SUBMITTED
    assert file.submitted_at == NOW
    assert file.last_check_results == []
    # A first registration is not a change of a file in force: no LCM Art. 15 deadline.
    assert file.change_review_due is None
    event = file.events.get(kind=FileEvent.Kind.SUBMITTED)
    assert (event.from_status, event.to_status, event.actor_label) == (
        "draft",
        "submitted",
        "system:tests",
    )


def test_resubmitting_after_requested_changes_puts_it_back_in_the_queue(reviewer):
    file = submitted(merchant_file())
    request_changes(file, reviewer)

    assert registration.file_submit(file=fresh(file), actor=TEST_ACTOR).accepted

    assert fresh(file).status == FileStatus.RESUBMITTED
    event = file.events.filter(kind=FileEvent.Kind.SUBMITTED).last()
    assert (event.from_status, event.to_status) == ("changes_requested", "resubmitted")


def test_taking_a_file_puts_it_in_review_and_assigns_the_reviewer(reviewer):
    file = submitted(merchant_file())

    registration.file_take(file=file, actor=reviewer)

    file = fresh(file)
    assert file.status == FileStatus.IN_REVIEW
    assert file.assigned_to == reviewer.user
    event = file.events.get(kind=FileEvent.Kind.TAKEN)
    assert (event.from_status, event.to_status, event.actor_label, event.actor_user) == (
        "submitted",
        "in_review",
        "user:reviewer",
        reviewer.user,
    )


# --- approving ---------------------------------------------------------------------------------


def test_approving_seals_the_version_with_its_snapshot_and_digest(reviewer, png):
    file = merchant_file()
    document = registration.document_add(
        file=file, kind=DocumentKind.BUSINESS_LICENCE, upload=png(), actor=TEST_ACTOR
    )
    file = submitted(file)
    registration.file_take(file=file, actor=reviewer)

    registration.file_approve(file=file, actor=reviewer, note="资料齐全")

    file = fresh(file)
    sealed = file.sealed_version
    assert file.status == FileStatus.APPROVED
    assert file.decided_at == NOW
    assert (sealed.version, sealed.sealed_at, sealed.sealed_by) == (1, NOW, "user:reviewer")
    assert sealed.sha256 == registration.seal_digest(sealed.snapshot)
    assert sealed.snapshot["name"] == "北京好物商贸有限公司"
    assert sealed.snapshot["credit_code"] == file.credit_code
    assert sealed.snapshot["documents"] == [
        {"id": document.pk, "kind": "business_licence", "sha256": document.sha256}
    ]
    assert sealed.snapshot["details"]["licences"][0]["valid_from"] == "2020-01-01"
    # Pending documents were accepted with the version they belong to.
    document.refresh_from_db()
    assert document.review == DocumentReview.ACCEPTED
    # The registry row now says "approved", and when the 6-month re-verification falls due.
    party = file.party
    assert party.approved_at == NOW
    assert party.reverification_due_at == datetime(2027, 5, 23, 10, 0, tzinfo=SHANGHAI)
    assert party.reverification_due_at == registration.add_months(party.approved_at, 6)
    event = file.events.get(kind=FileEvent.Kind.APPROVED)
    assert (event.from_status, event.to_status, event.actor_label, event.reason) == (
        "in_review",
        "approved",
        "user:reviewer",
        "资料齐全",
    )
    assert event.data == {"sha256": sealed.sha256}


def test_the_sealed_snapshot_holds_the_masked_id_number_never_the_plaintext(reviewer):
    id_number = resident_id()
    file = approved(natural_person_merchant(id_number), reviewer)

    snapshot = file.sealed_version.snapshot

    assert snapshot["id_number_masked"] == id_number[:4] + "*" * 10 + id_number[-4:]
    assert id_number not in str(snapshot)


def test_approving_from_the_queue_assigns_the_decider_and_tells_the_platform(reviewer, endpoint):
    file = submitted(merchant_file())

    registration.file_approve(file=file, actor=reviewer)

    file = fresh(file)
    assert file.assigned_to == reviewer.user
    delivery = WebhookDelivery.objects.get(topic="party.approved")
    assert delivery.endpoint == endpoint
    assert delivery.payload["party_id"] == file.party_id
    assert delivery.payload["status"] == "approved"
    assert delivery.payload["version"] == 1
    assert delivery.payload["sealed_sha256"] == file.sealed_version.sha256


# --- rejecting ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reasons, text",
    [
        pytest.param([], "证件照片模糊", id="no reason"),
        pytest.param(["no_such_reason"], "证件照片模糊", id="unknown reason"),
        pytest.param(["forged_document", "no_such_reason"], "证件照片模糊", id="one unknown"),
        pytest.param(["forged_document"], "   ", id="no text"),
    ],
)
def test_a_rejection_needs_known_reasons_and_an_explanation(reviewer, reasons, text):
    file = submitted(merchant_file())

    with pytest.raises(ValidationError):
        registration.file_reject(file=file, reasons=reasons, text=text, actor=reviewer)

    assert fresh(file).status == FileStatus.SUBMITTED
    assert not file.events.filter(kind=FileEvent.Kind.REJECTED).exists()


def test_rejecting_records_the_reasons_and_tells_the_platform(reviewer, endpoint):
    file = submitted(merchant_file())

    registration.file_reject(
        file=file,
        reasons=["identity_mismatch", "forged_document"],
        text="  营业执照与企业名称不符  ",
        actor=reviewer,
    )

    file = fresh(file)
    assert (file.status, file.decided_at, file.sealed_version) == (FileStatus.REJECTED, NOW, None)
    assert not FileVersion.objects.filter(file=file).exists()
    assert file.party.approved_at is None
    event = file.events.get(kind=FileEvent.Kind.REJECTED)
    assert (event.from_status, event.to_status, event.actor_label) == (
        "submitted",
        "rejected",
        "user:reviewer",
    )
    assert event.reason == "营业执照与企业名称不符"
    assert event.data == {"reasons": ["identity_mismatch", "forged_document"]}
    delivery = WebhookDelivery.objects.get(topic="party.rejected")
    assert delivery.payload["party_id"] == file.party_id
    assert delivery.payload["reasons"] == ["identity_mismatch", "forged_document"]
    assert delivery.payload["text"] == "营业执照与企业名称不符"


# --- requesting changes ------------------------------------------------------------------------


def test_requesting_changes_marks_each_named_document_with_its_reason(reviewer, endpoint, png):
    file = merchant_file()
    licence = registration.document_add(
        file=file, kind=DocumentKind.BUSINESS_LICENCE, upload=png(), actor=TEST_ACTOR
    )
    permit = registration.document_add(
        file=file, kind=DocumentKind.ADMINISTRATIVE_LICENCE, upload=png(), actor=TEST_ACTOR
    )
    file = submitted(file)
    registration.file_take(file=file, actor=reviewer)

    registration.file_request_changes(
        file=file,
        items=[
            ChangeItem(reason="expired", note="营业执照已过期", document_id=licence.pk),
            ChangeItem(reason="other", note="请补充经营场所证明"),
        ],
        actor=reviewer,
    )

    assert fresh(file).status == FileStatus.CHANGES_REQUESTED
    licence.refresh_from_db()
    permit.refresh_from_db()
    assert (licence.review, licence.change_reason, licence.change_note) == (
        DocumentReview.CHANGES_REQUESTED,
        "expired",
        "营业执照已过期",
    )
    assert (permit.review, permit.change_reason) == (DocumentReview.PENDING, "")
    requested = [
        {"document_id": licence.pk, "reason": "expired", "note": "营业执照已过期"},
        {"document_id": None, "reason": "other", "note": "请补充经营场所证明"},
    ]
    event = file.events.get(kind=FileEvent.Kind.CHANGES_REQUESTED)
    assert (event.from_status, event.to_status, event.actor_label) == (
        "in_review",
        "changes_requested",
        "user:reviewer",
    )
    assert event.data == {"items": requested}
    delivery = WebhookDelivery.objects.get(topic="party.changes_requested")
    assert delivery.payload["items"] == requested
    assert delivery.payload["status"] == "changes_requested"


def test_requesting_changes_to_another_files_document_is_refused(reviewer, png):
    other = merchant_file()
    foreign = registration.document_add(
        file=other, kind=DocumentKind.BUSINESS_LICENCE, upload=png(), actor=TEST_ACTOR
    )
    file = submitted(merchant_file())

    with pytest.raises(ValidationError):
        registration.file_request_changes(
            file=file,
            items=[ChangeItem(reason="unreadable", document_id=foreign.pk)],
            actor=reviewer,
        )

    assert fresh(file).status == FileStatus.SUBMITTED
    foreign.refresh_from_db()
    assert (foreign.review, foreign.change_reason) == (DocumentReview.PENDING, "")
    assert not FileEvent.objects.filter(kind=FileEvent.Kind.CHANGES_REQUESTED).exists()


@pytest.mark.parametrize(
    "items",
    [pytest.param([], id="nothing"), pytest.param([ChangeItem(reason="ugly")], id="unknown")],
)
def test_requesting_changes_needs_items_with_known_reason_codes(reviewer, items):
    file = submitted(merchant_file())

    with pytest.raises(ValidationError):
        registration.file_request_changes(file=file, items=items, actor=reviewer)

    assert fresh(file).status == FileStatus.SUBMITTED


# --- guards ------------------------------------------------------------------------------------


@pytest.mark.parametrize("decision", DECISIONS)
def test_deciding_a_draft_is_a_conflict(reviewer, decision):
    file = merchant_file()

    with pytest.raises(Conflict):
        DECISIONS[decision](file, reviewer)

    assert fresh(file).status == FileStatus.DRAFT
    assert list(file.events.values_list("kind", flat=True)) == [FileEvent.Kind.CREATED]


@pytest.mark.parametrize("decision", DECISIONS)
@pytest.mark.parametrize("who", ["auditor", "api"])
def test_only_a_reviewer_may_decide(auditor, who, decision):
    actor = auditor if who == "auditor" else Actor.system("platform-api")
    file = submitted(merchant_file())

    with pytest.raises(PermissionDenied):
        DECISIONS[decision](file, actor)

    assert fresh(file).status == FileStatus.SUBMITTED
    assert not file.events.filter(kind__in=DECISION_KINDS).exists()


def test_only_a_reviewer_may_take_a_file(auditor):
    file = submitted(merchant_file())

    with pytest.raises(PermissionDenied):
        registration.file_take(file=file, actor=auditor)

    assert fresh(file).status == FileStatus.SUBMITTED


@pytest.mark.parametrize("stage", ["submitted", "in_review", "approved"])
def test_a_file_past_the_draft_cannot_be_submitted_again(reviewer, stage):
    file = submitted(merchant_file())
    if stage == "in_review":
        registration.file_take(file=file, actor=reviewer)
    elif stage == "approved":
        approve(file, reviewer)

    with pytest.raises(Conflict):
        registration.file_submit(file=file, actor=TEST_ACTOR)

    assert fresh(file).status == stage
    assert file.events.filter(kind=FileEvent.Kind.SUBMITTED).count() == 1


def test_a_failed_submission_keeps_the_draft_and_records_the_check_results():
    file = merchant_file(licences=[])

    with translation.override("en"):
        result = registration.file_submit(file=file, actor=TEST_ACTOR)

    assert not result.accepted
    assert [f.code for f in result.failures] == ["licence_missing"]
    file = fresh(file)
    assert (file.status, file.submitted_at) == (FileStatus.DRAFT, None)
    expected = [
        {
            "code": "licence_missing",
            "message": "A Business licence is required.",
            "field": "licences",
        }
    ]
    assert file.last_check_results == expected
    event = file.events.get(kind=FileEvent.Kind.CHECKS_FAILED)
    assert event.data == {"failures": expected}
    assert (event.from_status, event.to_status) == ("", "")


def test_a_successful_submission_clears_the_earlier_check_results():
    file = merchant_file(licences=[])
    assert not registration.file_submit(file=file, actor=TEST_ACTOR).accepted
    merchant_services.business_file_update(
        file=file, actor=TEST_ACTOR, licences=[business_licence()]
    )

    assert registration.file_submit(file=file, actor=TEST_ACTOR).accepted

    assert fresh(file).last_check_results == []


# --- the entry checks again at approval --------------------------------------------------------


def test_a_blacklisting_after_submission_stops_the_approval(reviewer):
    file = submitted(merchant_file())
    services.restriction_impose(
        party=file.party, kind=RestrictionKind.BLACKLIST, reason="严重失信", actor=TEST_ACTOR
    )

    with pytest.raises(registration.EntryChecksFailed) as stopped:
        registration.file_approve(file=file, actor=reviewer)

    assert [f.code for f in stopped.value.failures] == ["blacklisted"]
    file = fresh(file)
    assert (file.status, file.sealed_version) == (FileStatus.SUBMITTED, None)
    assert file.party.approved_at is None
    assert not FileVersion.objects.exists()
    assert not file.events.filter(kind=FileEvent.Kind.APPROVED).exists()


def test_a_licence_that_expired_after_submission_stops_the_approval(reviewer, time_machine):
    file = submitted(merchant_file(licences=[business_licence(valid_until=date(2026, 11, 24))]))
    time_machine.move_to(NOW + timedelta(days=2), tick=False)

    with pytest.raises(registration.EntryChecksFailed) as stopped:
        registration.file_approve(file=file, actor=reviewer)

    assert [f.code for f in stopped.value.failures] == ["licence_expired"]
    assert fresh(file).status == FileStatus.SUBMITTED


# --- new versions of an approved file ----------------------------------------------------------


def test_changing_an_approved_file_opens_a_new_draft_while_the_old_version_stays_in_force(
    reviewer, time_machine
):
    file = approved(merchant_file(contact_phone="13812345678"), reviewer)
    approved_at = file.party.approved_at
    time_machine.move_to(NOW + timedelta(days=3), tick=False)

    registration.file_update(file=file, changes={"contact_phone": "13900002222"}, actor=TEST_ACTOR)

    file = fresh(file)
    assert (file.status, file.version, file.contact_phone) == (
        FileStatus.DRAFT,
        2,
        "13900002222",
    )
    assert file.sealed_version.version == 1
    assert file.sealed_version.snapshot["contact_phone"] == "13812345678"
    assert file.party.approved_at == approved_at
    opened = file.events.filter(kind=FileEvent.Kind.UPDATED).first()
    assert (opened.from_status, opened.to_status, opened.data) == (
        "approved",
        "draft",
        {"new_version": 2},
    )


def test_submitting_a_change_starts_the_seven_working_day_review_deadline(reviewer, time_machine):
    time_machine.move_to(datetime(2026, 9, 1, 10, 0, tzinfo=SHANGHAI), tick=False)
    file = approved(merchant_file(), reviewer)
    time_machine.move_to(datetime(2026, 9, 29, 10, 0, tzinfo=SHANGHAI), tick=False)
    registration.file_update(
        file=file, changes={"address": "北京市朝阳区新址 9 号"}, actor=TEST_ACTOR
    )

    assert registration.file_submit(file=file, actor=TEST_ACTOR).accepted

    file = fresh(file)
    assert (file.status, file.version) == (FileStatus.SUBMITTED, 2)
    # 7 working days from Tuesday 29 September, with the National Day holiday (1-7 October) and
    # the make-up Saturday 10 October in between.
    assert file.change_review_due == date(2026, 10, 14)
    assert file.change_review_due == add_working_days(date(2026, 9, 29), 7).due
    assert file.change_review_due_estimated is False


def test_approving_the_new_version_seals_it_and_clears_the_deadline(reviewer, time_machine):
    file = approved(merchant_file(contact_phone="13812345678"), reviewer)
    first_seal = file.sealed_version
    time_machine.move_to(NOW + timedelta(days=1), tick=False)
    registration.file_update(file=file, changes={"contact_phone": "13900002222"}, actor=TEST_ACTOR)
    file = submitted(file)
    assert file.change_review_due is not None

    registration.file_approve(file=file, actor=reviewer)

    file = fresh(file)
    assert (file.status, file.sealed_version.version) == (FileStatus.APPROVED, 2)
    assert file.change_review_due is None
    assert file.sealed_version.snapshot["contact_phone"] == "13900002222"
    first_seal.refresh_from_db()
    assert first_seal.snapshot["contact_phone"] == "13812345678"
    assert list(file.versions.values_list("version", flat=True)) == [2, 1]
    assert file.party.approved_at == NOW + timedelta(days=1)


@pytest.mark.parametrize("stage", ["submitted", "in_review"])
def test_a_file_waiting_for_a_decision_cannot_be_changed(reviewer, stage):
    file = submitted(merchant_file(contact_phone="13812345678"))
    if stage == "in_review":
        registration.file_take(file=file, actor=reviewer)

    with pytest.raises(Conflict):
        registration.file_update(
            file=file, changes={"contact_phone": "13900002222"}, actor=TEST_ACTOR
        )

    file = fresh(file)
    assert (file.status, file.version, file.contact_phone) == (stage, 1, "13812345678")
    assert not file.events.filter(kind=FileEvent.Kind.UPDATED).exists()


def test_changing_a_rejected_file_opens_a_new_draft_version(reviewer):
    file = submitted(merchant_file())
    reject(file, reviewer)

    registration.file_update(
        file=fresh(file), changes={"name": "北京好物商贸有限公司二部"}, actor=TEST_ACTOR
    )

    file = fresh(file)
    assert (file.status, file.version, file.sealed_version) == (FileStatus.DRAFT, 2, None)


def test_identity_fields_cannot_be_changed_through_an_update():
    file = merchant_file()
    code = file.credit_code

    with pytest.raises(ValidationError):
        registration.file_update(
            file=file, changes={"credit_code": credit_code()}, actor=TEST_ACTOR
        )

    assert fresh(file).credit_code == code


# --- two reviewers at once ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "first, second",
    [("approve", "reject"), ("reject", "approve"), ("request_changes", "approve")],
)
def test_second_reviewer_cannot_decide_a_file_already_decided(
    reviewer, second_reviewer, first, second
):
    file = submitted(merchant_file())
    # Both reviewers opened the file while it was waiting.
    mine = RegistrationFile.objects.get(pk=file.pk)
    theirs = RegistrationFile.objects.get(pk=file.pk)

    DECISIONS[first](mine, reviewer)
    with pytest.raises(Conflict):
        DECISIONS[second](theirs, second_reviewer)

    decisions = FileEvent.objects.filter(file=file, kind__in=DECISION_KINDS)
    assert decisions.count() == 1
    assert decisions.get().actor_label == "user:reviewer"
    assert FileVersion.objects.filter(file=file).count() == (1 if first == "approve" else 0)


# --- revealing an identity number --------------------------------------------------------------


def test_a_lead_can_reveal_the_full_id_number_and_the_reveal_is_on_the_timeline(lead):
    id_number = resident_id(female=True)
    file = anchor_file(id_number=id_number)

    revealed = registration.identity_reveal(file=file, reason="  核实身份证原件  ", actor=lead)

    assert revealed == id_number
    event = file.events.get(kind=FileEvent.Kind.IDENTITY_REVEALED)
    assert (event.actor_label, event.actor_user, event.reason) == (
        "user:lead",
        lead.user,
        "核实身份证原件",
    )


def test_a_reviewer_may_not_reveal_an_id_number(reviewer):
    file = anchor_file()

    with pytest.raises(PermissionDenied):
        registration.identity_reveal(file=file, reason="核实身份", actor=reviewer)

    assert not file.events.filter(kind=FileEvent.Kind.IDENTITY_REVEALED).exists()


def test_revealing_an_id_number_needs_a_reason(lead):
    file = anchor_file()

    with pytest.raises(ValidationError):
        registration.identity_reveal(file=file, reason="   ", actor=lead)

    assert not file.events.filter(kind=FileEvent.Kind.IDENTITY_REVEALED).exists()


# --- the 6-month re-verification sweep ---------------------------------------------------------

SWEEPER = Actor.system("reverification_sweep")


def test_the_reverification_sweep_marks_a_due_file_once_and_tells_the_platform(
    reviewer, endpoint, time_machine
):
    time_machine.move_to(datetime(2026, 5, 1, 10, 0, tzinfo=SHANGHAI), tick=False)
    due = approved(merchant_file(), reviewer)
    time_machine.move_to(datetime(2026, 10, 1, 10, 0, tzinfo=SHANGHAI), tick=False)
    not_due = approved(anchor_file(), reviewer)
    never_approved = submitted(merchant_file())
    sweep_time = datetime(2026, 11, 2, 10, 0, tzinfo=SHANGHAI)
    time_machine.move_to(sweep_time, tick=False)

    assert registration.reverification_sweep(actor=SWEEPER) == 1
    assert registration.reverification_sweep(actor=SWEEPER) == 0

    due = fresh(due)
    assert due.party.reverification_due_at == datetime(2026, 11, 1, 10, 0, tzinfo=SHANGHAI)
    assert due.reverification_notified_at == sweep_time
    event = due.events.get(kind=FileEvent.Kind.REVERIFICATION_DUE)
    assert event.actor_label == "system:reverification_sweep"
    assert event.data == {"due_at": due.party.reverification_due_at.isoformat()}
    delivery = WebhookDelivery.objects.get(topic="party.reverification_due")
    assert delivery.payload["party_id"] == due.party_id
    for untouched in (not_due, never_approved):
        assert fresh(untouched).reverification_notified_at is None
        assert not untouched.events.filter(kind=FileEvent.Kind.REVERIFICATION_DUE).exists()


def test_the_daily_celery_task_runs_the_sweep(reviewer, time_machine):
    from accounts.tasks import reverification_sweep

    time_machine.move_to(datetime(2026, 5, 1, 10, 0, tzinfo=SHANGHAI), tick=False)
    file = approved(merchant_file(), reviewer)
    time_machine.move_to(datetime(2026, 11, 2, 10, 0, tzinfo=SHANGHAI), tick=False)

    assert reverification_sweep.name == "accounts.reverification_sweep"
    assert reverification_sweep.delay().get() == 1

    assert fresh(file).reverification_notified_at is not None
    event = file.events.get(kind=FileEvent.Kind.REVERIFICATION_DUE)
    assert event.actor_label == "system:reverification_sweep"


@pytest.mark.parametrize(
    "start, expected",
    [
        pytest.param(datetime(2026, 8, 31, 10, 0), datetime(2027, 2, 28, 10, 0), id="clamped"),
        pytest.param(datetime(2027, 8, 31, 10, 0), datetime(2028, 2, 29, 10, 0), id="leap year"),
        pytest.param(datetime(2026, 11, 23, 10, 0), datetime(2027, 5, 23, 10, 0), id="plain"),
        pytest.param(datetime(2026, 7, 15, 10, 0), datetime(2027, 1, 15, 10, 0), id="new year"),
    ],
)
def test_six_months_later_keeps_the_day_or_ends_the_shorter_month(start, expected):
    start, expected = start.replace(tzinfo=SHANGHAI), expected.replace(tzinfo=SHANGHAI)

    assert registration.add_months(start, 6) == expected


def test_documents_are_refused_unknown_kinds_before_anything_is_stored(png, private_media):
    file = merchant_file()

    with pytest.raises(ValidationError):
        registration.document_add(file=file, kind="selfie", upload=png(), actor=TEST_ACTOR)

    assert not FileDocument.objects.exists()
    assert not any(private_media.rglob("*.png"))


def test_re_verification_months_are_counted_on_the_shanghai_calendar():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from accounts.registration import add_months

    shanghai = ZoneInfo("Asia/Shanghai")
    # 05:00 on 31 March in Shanghai is still 30 March in UTC.
    approved = datetime(2026, 3, 31, 5, 0, tzinfo=shanghai)
    due = add_months(approved.astimezone(ZoneInfo("UTC")), 6)
    assert due.astimezone(shanghai).date().isoformat() == "2026-09-30"
