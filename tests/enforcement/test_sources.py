"""Where violations come from (complaints, inspections), the evidence with its digests, and the
versioned catalogue."""

import hashlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.actors import Actor
from complaints import services as complaint_services
from complaints.models import Outcome
from config.errors import Conflict
from enforcement import services
from enforcement.models import CatalogueStatus, Evidence, Violation, ViolationType
from liverooms.models import LiveSession
from liverooms.services import inspection_record
from tests.accounts.conftest import png_bytes


def _decided_case(world, outcome, **decision):
    from complaints.models import ReviewerCapacity
    from tests.complaints.conftest import Scene

    ReviewerCapacity.objects.create(user=world.reviewer, max_open_cases=10)
    session = LiveSession.objects.create(room=world.room, owner=world.room.owner)
    scene = Scene(world.merchant, world.anchor, session, world.reviewer, world.lead)
    case = scene.file(anchor=world.anchor, session=session)
    actor = Actor.for_user(world.reviewer)
    complaint_services.case_assign(
        case=case, assignee=world.reviewer, actor=Actor.for_user(world.lead)
    )
    complaint_services.case_accept(case=case, actor=actor)
    complaint_services.case_decide(
        case=case, outcome=outcome, note="回放证实宣传不实。", actor=actor, **decision
    )
    return case


def test_a_complaint_decided_violation_confirmed_raises_one_per_party(world):
    case = _decided_case(world, Outcome.VIOLATION_CONFIRMED)
    violations = Violation.objects.filter(case=case)
    assert {v.party_id for v in violations} == {world.merchant.pk, world.anchor.pk}
    assert all(v.status == "suspected" and v.source == "complaint" for v in violations)
    assert Evidence.objects.filter(case=case, kind="complaint").count() == 2


def test_a_complaint_decided_otherwise_raises_nothing(world):
    _decided_case(world, Outcome.UNFOUNDED)
    assert not Violation.objects.exists()


def test_an_inspection_suspecting_a_violation_raises_one_for_the_room_owner(world):
    session = LiveSession.objects.create(room=world.room, owner=world.room.owner)
    inspection = inspection_record(
        session=session,
        checklist={"labels": False},
        findings="主播引导观众加微信私下交易。",
        result="violation_suspected",
        actor=world.reviewer_actor,
    )
    violation = Violation.objects.get(inspection=inspection)
    assert violation.party == world.merchant and violation.session == session
    inspection_record(
        session=session, checklist={}, findings="", result="no_issue", actor=world.reviewer_actor
    )
    assert Violation.objects.count() == 1


def test_an_inspection_raises_the_violation_against_the_sessions_operator(world):
    # The room moved to another merchant while this session was on air under the first one
    # (the platform refuses such a move through the API; a row can still say so): the session
    # answers to the owner who took it live.
    from tests.factories import register_party

    operator = register_party("merchant", name="原东家")
    session = LiveSession.objects.create(room=world.room, owner=operator)
    inspection = inspection_record(
        session=session,
        checklist={},
        findings="主播引导观众扫个人收款码付款。",
        result="violation_suspected",
        actor=world.reviewer_actor,
    )

    assert Violation.objects.get(inspection=inspection).party == operator


def test_an_evidence_file_is_stored_with_the_digest_of_its_bytes(world):
    violation = world.violation()
    data = png_bytes()
    evidence = services.evidence_add_file(
        violation=violation,
        upload=SimpleUploadedFile("shot.png", data),
        description="直播截图",
        actor=world.reviewer_actor,
    )
    assert evidence.sha256 == hashlib.sha256(data).hexdigest()
    assert evidence.content_type == "image/png" and evidence.size == len(data)
    assert violation.events.filter(kind="evidence_added").exists()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"<svg xmlns='http://www.w3.org/2000/svg'></svg>",
        "\ufeff <html><script>alert(1)</script></html>".encode(),
        b"MZ\x90\x00\xff\xfe binary",
        b"\x00\x00\x00\x18 binary that decodes as ASCII",
        "聊天记录".encode()[:-1],  # a text file cut inside its last character
    ],
)
def test_an_evidence_file_of_the_wrong_kind_is_refused_and_nothing_stored(world, data, tmp_path):
    violation = world.violation()
    with pytest.raises(ValidationError):
        services.evidence_add_file(
            violation=violation,
            upload=SimpleUploadedFile("x.png", data),
            description="x",
            actor=world.reviewer_actor,
        )
    assert not Evidence.objects.filter(kind="file").exists()
    assert not (tmp_path / "evidence").exists() or not any((tmp_path / "evidence").iterdir())


@pytest.mark.parametrize("lead", [1, 2])
def test_a_chinese_chat_log_is_text_wherever_the_first_kilobyte_ends(world, lead):
    """The type is sniffed from the first 1,024 bytes, which here end inside a three-byte
    character (one or two of its bytes in)."""
    data = (
        "a" * lead + "买家：这个围巾是真丝吗？\n主播：是的，加我微信私下转账更便宜。\n" * 40
    ).encode()
    with pytest.raises(UnicodeDecodeError):
        data[:1024].decode()
    evidence = services.evidence_add_file(
        violation=world.violation(),
        upload=SimpleUploadedFile("chat.txt", data),
        description="聊天记录",
        actor=world.reviewer_actor,
    )
    assert evidence.content_type == "text/plain" and evidence.size == len(data)


def test_an_oversized_evidence_file_is_refused(world, settings):
    settings.ENFORCEMENT_EVIDENCE_MAX_BYTES = 1024
    with pytest.raises(ValidationError):
        services.evidence_add_file(
            violation=world.violation(),
            upload=SimpleUploadedFile("x.txt", b"a" * 2048),
            description="聊天记录",
            actor=world.reviewer_actor,
        )


def test_a_new_catalogue_version_retires_the_old_and_old_violations_keep_theirs(world):
    violation = world.violation("absolute_terms")
    v1 = ViolationType.objects.get(code="absolute_terms", status="published")
    draft = services.type_new_version(vtype=v1, actor=world.lead_actor)
    assert draft.version == 2 and draft.status == CatalogueStatus.DRAFT
    with pytest.raises(Conflict):
        services.type_new_version(vtype=v1, actor=world.lead_actor)
    draft.default_measures = ["warning"]
    draft.save()
    services.type_publish(vtype=draft, actor=world.lead_actor)
    v1.refresh_from_db()
    assert v1.status == CatalogueStatus.RETIRED
    violation.refresh_from_db()
    assert violation.type_id == v1.pk
    with pytest.raises(ValidationError):
        world.propose(
            services.violation_raise(
                party=world.merchant,
                source="reviewer",
                facts="x",
                actor=world.reviewer_actor,
                vtype=v1,
            ),
            kind="warning",
        )


def test_a_draft_whose_defaults_are_not_allowed_cannot_be_published(world):
    v1 = ViolationType.objects.get(code="harassing_ads", status="published")
    draft = services.type_new_version(vtype=v1, actor=world.lead_actor)
    draft.default_measures = ["blacklist"]
    draft.save()
    with pytest.raises(ValidationError):
        services.type_publish(vtype=draft, actor=world.lead_actor)


def test_a_reviewer_cannot_change_the_catalogue(world):
    from django.core.exceptions import PermissionDenied

    v1 = ViolationType.objects.get(code="harassing_ads", status="published")
    with pytest.raises(PermissionDenied):
        services.type_new_version(vtype=v1, actor=world.reviewer_actor)


def test_a_person_without_the_permission_cannot_raise_or_link(world):
    from django.core.exceptions import PermissionDenied

    from tests.factories import UserFactory

    outsider = Actor.for_user(UserFactory(roles=["authority_liaison"]))
    with pytest.raises(PermissionDenied):
        services.violation_raise(party=world.merchant, source="reviewer", facts="x", actor=outsider)
    with pytest.raises(PermissionDenied):
        services.evidence_link(
            violation=world.violation(), reference="order-1", description="x", actor=outsider
        )
