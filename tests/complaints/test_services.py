"""The complaint services: filing and its checks, contacts, duplicates and merging, reporter
reputation, evaluations, concentrated complaints and the room risk grade, and the guards on
every transition."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from accounts.actors import Actor
from accounts.demo import demo_image
from accounts.models import PartyKind
from accounts.uploads import clean_image
from complaints import services
from complaints.models import (
    Case,
    CaseEvent,
    CaseKind,
    CaseStatus,
    Evaluation,
    Evidence,
    ReporterReputation,
    Source,
)
from config.errors import Conflict
from liverooms.models import LiveRoom, RiskGrade
from liverooms.services import room_register, rooms_regrade
from tests.factories import TEST_ACTOR, UserFactory, register_party

SHANGHAI = ZoneInfo("Asia/Shanghai")
CONSUMER = Actor(label="consumer")


def image(label: str, colour: str = "#f4f1e8"):
    return clean_image(demo_image(label, colour))


@pytest.fixture
def reviewer(scene) -> Actor:
    return Actor.for_user(scene.reviewer)


@pytest.fixture
def lead(scene) -> Actor:
    return Actor.for_user(scene.lead)


def report_input(scene, **overrides) -> services.CaseInput:
    values = dict(
        kind=CaseKind.REPORT,
        facts="主播引导观众加微信私下转账。",
        session=scene.session,
        report_category="offline_transaction",
        stream_offset=timedelta(minutes=12, seconds=30),
        contact_email="li@example.com",
    )
    values.update(overrides)
    return services.CaseInput(**values)


# --- Filing ----------------------------------------------------------------------------------


def test_a_complaint_is_filed_with_a_readable_code_and_a_public_event(scene):
    case = scene.file(evidence=[image("receipt")])
    case.refresh_from_db()
    assert case.status == CaseStatus.NEW
    assert case.tracking_code[0] == "C" and len(case.tracking_code) == 10
    # No 0/O or 1/I: the code is read out over the phone.
    assert not set(case.tracking_code[1:]) & set("01OI")
    assert case.source == Source.WEB
    assert case.evidence.count() == 1
    filed = case.events.get(kind=CaseEvent.Kind.FILED)
    assert filed.public is True
    assert filed.status == CaseStatus.NEW
    assert filed.data == {"evidence": 1}
    # The code is case-insensitive as typed; the token is what opens the case.
    token = services.tracking_token(case)
    assert services.case_for_tracking(case.tracking_code.lower(), token) == case


def test_a_report_names_its_session_and_the_room_owner_becomes_the_party(scene):
    filed = services.case_file(data=report_input(scene), source=Source.WEB, actor=CONSUMER)
    case = filed.case
    assert filed.created is True
    assert case.tracking_code.startswith("R")
    assert case.session == scene.session
    assert case.merchant == scene.merchant  # the room's owner
    assert case.stream_offset == timedelta(minutes=12, seconds=30)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"merchant": None}, "merchant"),
        ({"request": ""}, "request"),
        ({"facts": "   "}, "facts"),
        ({"contact_email": "", "contact_phone": ""}, "contact_email"),
        ({"kind": "praise"}, "kind"),
    ],
)
def test_an_incomplete_complaint_is_refused_and_nothing_is_stored(scene, overrides, field):
    with pytest.raises(ValidationError) as error:
        scene.file(**overrides)
    assert field in error.value.message_dict
    assert not Case.objects.exists()
    assert not CaseEvent.objects.exists()
    assert not ReporterReputation.objects.exists()


def test_a_party_of_the_wrong_kind_is_refused(scene):
    with pytest.raises(ValidationError) as error:
        scene.file(merchant=scene.anchor, anchor=scene.merchant)
    assert set(error.value.message_dict) >= {"merchant", "anchor"}
    assert not Case.objects.exists()


def test_a_report_needs_a_session_and_a_category(scene):
    with pytest.raises(ValidationError) as error:
        services.case_file(
            data=report_input(scene, session=None, report_category=""),
            source=Source.WEB,
            actor=CONSUMER,
        )
    assert set(error.value.message_dict) == {"session", "report_category"}
    assert not Case.objects.exists()


def test_more_than_nine_images_are_refused_before_any_is_stored(scene, tmp_path):
    images = [image(f"p{i}", f"#{i:02d}{i:02d}{i:02d}") for i in range(10)]
    with pytest.raises(ValidationError) as error:
        scene.file(evidence=images)
    assert "evidence" in error.value.message_dict
    assert not Evidence.objects.exists()
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_a_time_of_filing_in_the_future_is_refused(scene):
    from django.utils import timezone

    with pytest.raises(ValidationError) as error:
        scene.file(received_at=timezone.now() + timedelta(hours=1))
    assert "received_at" in error.value.message_dict
    assert not Case.objects.exists()


def test_the_same_image_twice_is_stored_once(scene):
    receipt = image("receipt")
    case = scene.file(evidence=[receipt, receipt])
    assert case.evidence.count() == 1


def test_the_platform_forwarding_the_same_complaint_twice_stores_it_once(scene):
    first = services.case_file(
        data=scene.complaint_input(),
        source=Source.API,
        actor=TEST_ACTOR,
        platform_ref="app-42",
    )
    again = services.case_file(
        data=scene.complaint_input(facts="重发的同一投诉"),
        source=Source.API,
        actor=TEST_ACTOR,
        platform_ref="app-42",
    )
    assert first.created is True and again.created is False
    assert again.case.pk == first.case.pk
    assert Case.objects.count() == 1
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.FILED).count() == 1
    assert ReporterReputation.objects.get().filed == 1
    # The same reference on another channel is another complaint.
    web = services.case_file(
        data=scene.complaint_input(), source=Source.WEB, actor=CONSUMER, platform_ref="app-42"
    )
    assert web.created is True and web.case.pk != first.case.pk


# --- Contacts --------------------------------------------------------------------------------


def test_the_contact_is_encrypted_and_shown_masked(scene):
    case = scene.file(contact_email=" Wang@Example.COM ", contact_phone="138 1234 5678")
    case.refresh_from_db()
    assert case.contact_email_enc and case.contact_phone_enc
    for stored in (case.contact_email_enc, case.contact_phone_enc):
        assert "wang" not in stored.lower()
        assert "12345678" not in stored.replace(" ", "")
    assert services.contact_email(case) == "wang@example.com"
    assert services.contact_phone(case) == "138 1234 5678"
    assert services.contact_masked(case) == "w***@example.com / 138****5678"


def test_the_contact_key_is_the_same_for_the_same_person_written_differently():
    assert services.contact_key(email="A@B.cn ") == services.contact_key(email="a@b.cn")
    assert services.contact_key(phone="+86 138-1234-5678") == services.contact_key(
        phone="13812345678"
    )
    assert services.contact_key(email="a@b.cn") != services.contact_key(email="c@b.cn")
    assert services.contact_key() == ""
    assert "13812345678" not in services.contact_key(phone="13812345678")


def test_a_contact_typed_in_full_width_is_keyed_and_stored_as_ascii(scene):
    assert services.contact_key(phone="＋８６ １３８－１２３４－５６７８") == services.contact_key(
        phone="13812345678"
    )
    assert services.contact_key(email="Wang@ｅｘａｍｐｌｅ.ｃｏｍ") == services.contact_key(
        email="wang@example.com"
    )

    case = scene.file(
        contact_email="wang@ｅｘａｍｐｌｅ.ｃｏｍ", contact_phone="１３８ １２３４ ５６７８"
    )

    assert services.contact_email(case) == "wang@example.com"
    assert services.contact_phone(case) == "138 1234 5678"


# --- Duplicates and merging ------------------------------------------------------------------


def test_the_same_contact_about_the_same_order_is_flagged_as_a_possible_duplicate(scene):
    first = scene.file(order_number="ORD-9")
    second = scene.file(order_number="ORD-9", category="quality")
    other_person = scene.file(order_number="ORD-9", contact_email="zhao@example.com")
    assert second.possible_duplicate_of == first
    assert other_person.possible_duplicate_of is None
    # Flagged, not refused: the consumer may have something new to say.
    assert second.status == CaseStatus.NEW


def test_a_duplicate_is_looked_for_within_thirty_days_only(scene, time_machine):
    time_machine.move_to(datetime(2025, 9, 1, 10, tzinfo=SHANGHAI), tick=False)
    scene.file(order_number="ORD-9")
    time_machine.move_to(datetime(2025, 10, 2, 10, tzinfo=SHANGHAI), tick=False)
    assert scene.file(order_number="ORD-9").possible_duplicate_of is None


def test_merging_moves_the_evidence_and_closes_the_duplicate(scene, reviewer):
    into = scene.file(order_number="ORD-5", evidence=[image("a", "#aa0000")])
    duplicate = scene.file(
        order_number="ORD-5", evidence=[image("a", "#aa0000"), image("b", "#00bb00")]
    )
    assert duplicate.possible_duplicate_of == into

    merged = services.case_merge(duplicate=duplicate, into=into, actor=reviewer)
    assert merged.status == CaseStatus.MERGED
    assert merged.merged_into == into
    assert merged.closed_at is not None
    # The picture both had is kept once; the new one moved across.
    assert sorted(into.evidence.values_list("width", flat=True)) == [480, 480]
    assert into.evidence.count() == 2
    public = merged.events.get(kind=CaseEvent.Kind.MERGED)
    assert public.public is True
    assert into.tracking_code in public.message
    internal = into.events.get(kind=CaseEvent.Kind.MERGED)
    assert internal.public is False
    assert internal.data == {"from": duplicate.tracking_code}
    # A later filing by the same person is not flagged as a duplicate of the merged case.
    assert scene.file(order_number="ORD-5").possible_duplicate_of == into


def test_merged_evidence_is_not_shown_on_the_other_consumers_tracking_page(scene, reviewer, client):
    from django.urls import reverse

    bob = scene.file(
        kind="report",
        session=scene.session,
        report_category="tobacco",
        contact_email="bob@example.com",
        order_number="",
    )
    alice = scene.file(
        kind="report",
        session=scene.session,
        report_category="tobacco",
        contact_email="alice@example.com",
        order_number="",
        evidence=[image("alice", "#aa0000")],
    )
    services.case_merge(duplicate=alice, into=bob, actor=reviewer)

    moved = bob.evidence.get()
    assert moved.added_by == f"merged:{alice.tracking_code}"  # reviewers still see it
    url = reverse("complaints:track", args=[bob.tracking_code, services.tracking_token(bob)])
    assert list(client.get(url).context["evidence"]) == []
    picture = reverse(
        "complaints:track_evidence",
        args=[bob.tracking_code, services.tracking_token(bob), moved.pk],
    )
    assert client.get(picture).status_code == 404


def test_a_decided_case_cannot_be_re_pointed_at_another_party(scene, reviewer):
    from config.errors import Conflict

    case = scene.file()
    services.case_accept(case=case, actor=reviewer)
    services.case_decide(case=case, outcome="unfounded", note="不成立", actor=reviewer)
    with pytest.raises(Conflict):
        services.case_link(case=case, anchor=scene.anchor, actor=reviewer)
    case.refresh_from_db()
    assert case.anchor is None


def test_merging_respects_the_nine_image_limit(scene, reviewer):
    into = scene.file(
        order_number="M-1", evidence=[image(f"i{i}", f"#{i}0{i}0{i}0") for i in range(8)]
    )
    duplicate = scene.file(
        order_number="M-1", evidence=[image("x", "#123456"), image("y", "#654321")]
    )
    services.case_merge(duplicate=duplicate, into=into, actor=reviewer)
    assert into.evidence.count() == 9


def test_merges_that_make_no_sense_are_refused(scene, reviewer):
    complaint = scene.file()
    report = services.case_file(data=report_input(scene), source=Source.WEB, actor=CONSUMER).case
    with pytest.raises(ValidationError):
        services.case_merge(duplicate=complaint, into=complaint, actor=reviewer)
    with pytest.raises(ValidationError):
        services.case_merge(duplicate=report, into=complaint, actor=reviewer)
    withdrawn = services.case_withdraw(case=scene.file(order_number="W"), reason="", actor=CONSUMER)
    with pytest.raises(Conflict):
        services.case_merge(duplicate=withdrawn, into=complaint, actor=reviewer)
    with pytest.raises(Conflict):
        services.case_merge(duplicate=complaint, into=withdrawn, actor=reviewer)
    assert Case.objects.filter(status=CaseStatus.MERGED).count() == 0


# --- Reporter reputation ---------------------------------------------------------------------


def _file_and_close(scene, reviewer, n: int, *, unfounded: int, email="spam@example.com"):
    """`n` cases from one contact, all filed first; then `unfounded` of them found so."""
    cases = [
        services.case_accept(
            case=scene.file(order_number=f"U-{email}-{i}", contact_email=email), actor=reviewer
        )
        for i in range(n)
    ]
    for case in cases[:unfounded]:
        services.case_decide(case=case, outcome="unfounded", note="查无实据。", actor=reviewer)


def test_a_contact_with_many_unfounded_cases_is_flagged_for_a_lead(scene, reviewer):
    _file_and_close(scene, reviewer, 6, unfounded=2)
    key = services.contact_key(email="spam@example.com")
    reputation = ReporterReputation.objects.get(contact_key=key)
    assert (reputation.filed, reputation.unfounded) == (6, 2)
    assert reputation.flagged_at is None
    # The third unfounded case out of six: half of what they filed.
    case = services.case_accept(case=scene.file(order_number="U-x"), actor=reviewer)
    assert case.contact_key != key  # a different person: theirs does not count
    last = Case.objects.filter(contact_key=key, status=CaseStatus.ACCEPTED).first()
    services.case_decide(case=last, outcome="unfounded", note="查无实据。", actor=reviewer)
    reputation.refresh_from_db()
    assert (reputation.filed, reputation.unfounded) == (6, 3)
    assert reputation.flagged_at is not None


def test_three_unfounded_out_of_seven_is_below_the_share_and_not_flagged(scene, reviewer):
    _file_and_close(scene, reviewer, 7, unfounded=3)
    reputation = ReporterReputation.objects.get(
        contact_key=services.contact_key(email="spam@example.com")
    )
    assert (reputation.filed, reputation.unfounded) == (7, 3)
    assert reputation.flagged_at is None


def test_other_outcomes_do_not_count_against_the_reporter(scene, reviewer):
    for i, outcome in enumerate(["refund", "violation_confirmed", "referred_12315"]):
        case = services.case_accept(case=scene.file(order_number=f"O-{i}"), actor=reviewer)
        refund = 100 if outcome == "refund" else None
        services.case_decide(
            case=case, outcome=outcome, note="已处理。", refund_fen=refund, actor=reviewer
        )
    assert ReporterReputation.objects.get().unfounded == 0


def test_a_lead_reviews_a_flagged_reporter_and_the_flag_clears(scene, reviewer, lead):
    _file_and_close(scene, reviewer, 3, unfounded=3)
    reputation = ReporterReputation.objects.get()
    assert reputation.flagged_at is not None
    with pytest.raises(PermissionError):
        services.reputation_review(reputation=reputation, note="看过了", actor=reviewer)
    with pytest.raises(ValidationError):
        services.reputation_review(reputation=reputation, note=" ", actor=lead)
    reputation = services.reputation_review(
        reputation=reputation, note="消费者误解了活动规则，已解释。", actor=lead
    )
    reputation.refresh_from_db()
    assert reputation.flagged_at is None
    assert reputation.reviewed_at is not None
    assert reputation.reviewed_note == "消费者误解了活动规则，已解释。"
    assert (reputation.filed, reputation.unfounded) == (3, 3)  # the counts stay


# --- Evaluations -----------------------------------------------------------------------------


def evaluate(scene, **overrides):
    values = dict(
        merchant=scene.merchant,
        anchor=None,
        order_number="ORD-1",
        stars_description=4,
        stars_service=5,
        stars_logistics=3,
    )
    values.update(overrides)
    return services.evaluation_submit(**values)


def test_an_evaluation_of_the_merchant_and_the_anchor_is_kept(scene):
    evaluation, created = evaluate(
        scene, anchor=scene.anchor, stars_anchor_honesty=2, text=" 主播说的和实物不符 "
    )
    assert created is True
    evaluation.refresh_from_db()
    assert (evaluation.merchant, evaluation.anchor) == (scene.merchant, scene.anchor)
    assert evaluation.stars_anchor_honesty == 2
    assert evaluation.text == "主播说的和实物不符"
    assert evaluation.hidden_at is None


def test_an_evaluation_of_a_session_names_its_room_owner(scene):
    evaluation, _ = evaluate(scene, merchant=None, session=scene.session)
    assert evaluation.merchant == scene.merchant


def _room_changes_hands(scene):
    """The session ends and the platform moves its room to another merchant."""
    from django.utils import timezone

    from liverooms.models import LiveSession, SessionStatus

    LiveSession.objects.filter(pk=scene.session.pk).update(
        status=SessionStatus.ENDED, ended_at=timezone.now()
    )
    buyer = register_party(PartyKind.MERCHANT, name="新东家")
    room_register(
        owner=buyer,
        platform_ref="room-c1",
        title="西子良品直播间",
        category="apparel",
        actor=TEST_ACTOR,
    )
    assert LiveRoom.objects.get(platform_ref="room-c1").owner == buyer
    scene.session.refresh_from_db()
    return buyer


def test_a_report_on_a_session_names_its_operator_after_the_room_changed_hands(scene):
    _room_changes_hands(scene)

    filed = services.case_file(data=report_input(scene), source=Source.WEB, actor=CONSUMER)

    assert filed.case.merchant == scene.merchant


def test_an_evaluation_of_a_session_names_its_operator_after_the_room_changed_hands(scene):
    _room_changes_hands(scene)

    evaluation, _ = evaluate(scene, merchant=None, session=scene.session)

    assert evaluation.merchant == scene.merchant


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"merchant": None}, "merchant"),
        ({"order_number": " "}, "order_number"),
        ({"stars_anchor_honesty": 4}, "stars_anchor_honesty"),  # no anchor evaluated
        ({"stars_description": 0}, "stars_description"),
        ({"stars_service": 6}, "stars_service"),
        ({"stars_logistics": -1}, "stars_logistics"),
    ],
)
def test_a_bad_evaluation_is_refused_and_nothing_is_stored(scene, overrides, field):
    with pytest.raises(ValidationError) as error:
        evaluate(scene, **overrides)
    assert field in error.value.message_dict
    assert not Evaluation.objects.exists()


def test_an_evaluation_of_a_party_of_the_wrong_kind_is_refused(scene):
    with pytest.raises(ValidationError) as error:
        evaluate(scene, merchant=scene.anchor, anchor=scene.merchant, stars_anchor_honesty=3)
    assert set(error.value.message_dict) >= {"merchant", "anchor"}
    assert not Evaluation.objects.exists()


def test_an_anchor_honesty_rating_out_of_range_is_refused(scene):
    with pytest.raises(ValidationError) as error:
        evaluate(scene, anchor=scene.anchor, stars_anchor_honesty=9)
    assert "stars_anchor_honesty" in error.value.message_dict


def test_the_platform_sending_the_same_evaluation_twice_stores_it_once(scene):
    first, created = evaluate(scene, source=Source.API, platform_ref="ev-1")
    again, created_again = evaluate(scene, source=Source.API, platform_ref="ev-1", text="改")
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk and again.text == ""
    assert Evaluation.objects.count() == 1


def test_only_a_reviewer_hides_an_evaluation_and_always_with_a_reason(scene, reviewer):
    evaluation, _ = evaluate(scene, text="含有他人手机号 13900001111")
    for actor in (CONSUMER, Actor.for_user(UserFactory()), Actor.system("platform")):
        with pytest.raises(PermissionError):
            services.evaluation_hide(evaluation=evaluation, reason="泄露隐私", actor=actor)
    with pytest.raises(ValidationError) as error:
        services.evaluation_hide(evaluation=evaluation, reason="  ", actor=reviewer)
    assert "reason" in error.value.message_dict
    evaluation.refresh_from_db()
    assert evaluation.hidden_at is None

    services.evaluation_hide(evaluation=evaluation, reason="含他人个人信息。", actor=reviewer)
    evaluation.refresh_from_db()
    assert evaluation.hidden_at is not None
    assert evaluation.hidden_by == scene.reviewer
    assert evaluation.hidden_reason == "含他人个人信息。"
    with pytest.raises(Conflict):
        services.evaluation_hide(evaluation=evaluation, reason="再次隐藏", actor=reviewer)
    evaluation.refresh_from_db()
    assert evaluation.hidden_reason == "含他人个人信息。"
    assert Evaluation.objects.filter(pk=evaluation.pk).exists()  # hidden, never deleted


def test_the_summary_counts_visible_evaluations_only(scene, reviewer):
    def forwarded(ref, **overrides):
        overrides.setdefault("order_number", f"ORD-{ref}")
        return evaluate(scene, source=Source.API, platform_ref=ref, **overrides)

    forwarded("e1", stars_description=5, stars_service=5, stars_logistics=5)
    confirmed, _ = evaluate(
        scene, order_number="ORD-web-1", stars_description=3, stars_service=1, stars_logistics=4
    )
    services.evaluation_order_checked(
        evaluation=confirmed, found=True, actor=Actor(label="api:platform")
    )
    hidden, _ = forwarded("e2", stars_description=1, stars_service=1, stars_logistics=1)
    # Made on the web form, its order not confirmed by the platform: it does not count.
    evaluate(scene, order_number="ORD-web-2", stars_description=1, stars_service=1)
    # A second evaluation of an order that counts does not count either.
    forwarded("e1-again", order_number="ORD-e1", stars_description=1, stars_service=1)
    forwarded("e3", merchant=None, anchor=scene.anchor, stars_anchor_honesty=2)
    services.evaluation_hide(evaluation=hidden, reason="刷差评。", actor=reviewer)

    summary = services.evaluation_summary(scene.merchant)
    assert summary["count"] == 2
    assert summary["description"] == pytest.approx(4.0)
    assert summary["service"] == pytest.approx(3.0)
    assert summary["logistics"] == pytest.approx(4.5)
    anchor = services.evaluation_summary(scene.anchor)
    assert anchor["count"] == 1
    assert anchor["anchor_honesty"] == pytest.approx(2.0)


# --- Concentrated complaints -----------------------------------------------------------------


@pytest.fixture
def threshold(settings):
    settings.COMPLAINT_CONCENTRATION_THRESHOLD = 3
    return 3


def room_of(scene) -> LiveRoom:
    return LiveRoom.objects.get(pk=scene.session.room_id)


def from_people(scene, n: int, **overrides):
    """`n` complaints about the merchant from `n` different consumers."""
    return [
        scene.file(order_number=f"P-{i}", contact_email=f"buyer{i}@example.com", **overrides)
        for i in range(n)
    ]


def test_complaint_counts_per_party(scene, reviewer, time_machine):
    time_machine.move_to(datetime(2025, 11, 3, 10, tzinfo=SHANGHAI), tick=False)
    other = register_party(PartyKind.MERCHANT)
    old = from_people(scene, 1)[0]  # 31 days before the count
    time_machine.move_to(datetime(2025, 12, 4, 10, tzinfo=SHANGHAI), tick=False)
    from_people(scene, 2, anchor=scene.anchor)
    scene.file(merchant=other, order_number="X", contact_email="x@example.com")
    unfounded = services.case_accept(
        case=scene.file(order_number="U", contact_email="u@example.com"), actor=reviewer
    )
    services.case_decide(case=unfounded, outcome="unfounded", note="查无实据。", actor=reviewer)
    services.case_file(data=report_input(scene), source=Source.WEB, actor=CONSUMER)  # a report
    counts = services.complaint_counts([scene.merchant.pk, scene.anchor.pk, other.pk])
    assert counts == {scene.merchant.pk: 2, scene.anchor.pk: 2, other.pk: 1}
    assert old.pk  # filed, but outside the 30-day window


def test_the_risk_grade_counts_complainants_not_filings(scene):
    scene.file(order_number="A")
    scene.file(order_number="B")  # the same person, another order
    scene.file(order_number="C", contact_phone="+86 139 0000 1111", contact_email="")
    scene.file(order_number="D", contact_phone="13900001111", contact_email="")  # same phone
    assert services.complaint_counts([scene.merchant.pk]) == {scene.merchant.pk: 4}
    assert services.complainant_counts([scene.merchant.pk]) == {scene.merchant.pk: 2}


def test_concentrated_complaints_raise_the_room_at_once(scene, threshold):
    rooms_regrade()
    assert room_of(scene).risk_grade == RiskGrade.LOW
    from_people(scene, threshold - 1)
    assert room_of(scene).risk_grade == RiskGrade.LOW
    # The first buyer again about the same order: a possible duplicate, not another voice.
    scene.file(order_number="P-0", contact_email="buyer0@example.com")
    assert room_of(scene).risk_grade == RiskGrade.LOW
    scene.file(order_number="P-new", contact_email="newbuyer@example.com")
    room = room_of(scene)
    assert room.risk_grade == RiskGrade.MEDIUM
    assert {"factor": "complaints", "points": 30} in room.risk_reasons


def test_the_nightly_regrade_counts_complaints_too_and_unfounded_ones_do_not(
    scene, reviewer, threshold
):
    cases = from_people(scene, threshold)
    assert room_of(scene).risk_grade == RiskGrade.MEDIUM
    case = services.case_accept(case=cases[0], actor=reviewer)
    services.case_decide(case=case, outcome="unfounded", note="查无实据。", actor=reviewer)
    rooms_regrade()
    room = room_of(scene)
    assert room.risk_grade == RiskGrade.LOW
    assert all(reason["factor"] != "complaints" for reason in room.risk_reasons)


def test_one_consumer_filing_again_and_again_does_not_raise_the_room(scene, threshold):
    for _ in range(threshold + 2):
        scene.file()  # the same person, the same order: possible duplicates
    rooms_regrade()
    assert room_of(scene).risk_grade == RiskGrade.LOW


def test_complaints_against_an_anchor_raise_the_anchors_own_room(scene, threshold):
    room = room_register(
        owner=scene.anchor,
        platform_ref="room-anchor",
        title="小雨的直播间",
        category="apparel",
        actor=TEST_ACTOR,
    )
    from_people(scene, threshold, merchant=None, anchor=scene.anchor)
    room.refresh_from_db()
    assert room.risk_grade == RiskGrade.MEDIUM


# --- Transition guards -----------------------------------------------------------------------


def drive(scene, status: str):
    """A case brought to `status` through the real services."""
    staff = Actor.for_user(scene.reviewer)
    case = scene.file(order_number=f"G-{status}", contact_email=f"{status}@example.com")
    if status == CaseStatus.NEW:
        return case
    if status == CaseStatus.NOT_ACCEPTED:
        return services.case_not_accept(case=case, reason="不属于平台受理范围。", actor=staff)
    if status == CaseStatus.WITHDRAWN:
        return services.case_withdraw(case=case, reason="已协商解决。", actor=CONSUMER)
    if status == CaseStatus.AWAITING_CONSUMER:
        return services.case_request_info(case=case, message="请补充。", actor=staff)
    if status == CaseStatus.MERGED:
        into = scene.file(order_number="G-into", contact_email="into@example.com")
        return services.case_merge(duplicate=case, into=into, actor=staff)
    case = services.case_accept(case=case, actor=staff)
    if status == CaseStatus.ACCEPTED:
        return case
    if status == CaseStatus.AWAITING_APPRAISAL:
        return services.case_start_appraisal(case=case, message="送检。", actor=staff)
    case = services.case_decide(
        case=case, outcome="refund", note="退款。", refund_fen=1000, actor=staff
    )
    if status == CaseStatus.DECIDED:
        return case
    if status == CaseStatus.CLOSED:
        return services.case_confirm(case=case)
    raise ValueError(status)


OPEN = {"new", "accepted", "awaiting_consumer", "awaiting_appraisal"}
ALL = {s.value for s in CaseStatus}


def _actions(scene):
    staff = Actor.for_user(scene.reviewer)
    into = scene.file(order_number="target", contact_email="target@example.com")
    return {
        "accept": ({"new"}, lambda c: services.case_accept(case=c, actor=staff)),
        "not_accept": (
            {"new"},
            lambda c: services.case_not_accept(case=c, reason="不受理。", actor=staff),
        ),
        "request_info": (
            {"new", "accepted"},
            lambda c: services.case_request_info(case=c, message="请补充。", actor=staff),
        ),
        "start_appraisal": (
            {"accepted"},
            lambda c: services.case_start_appraisal(case=c, message="送检。", actor=staff),
        ),
        "resume": (
            {"awaiting_consumer", "awaiting_appraisal"},
            lambda c: services.case_resume(case=c, actor=staff),
        ),
        "consumer_add_info": (
            OPEN,
            lambda c: services.case_consumer_add_info(case=c, text="补充说明。"),
        ),
        "reply": (
            OPEN | {"decided"},
            lambda c: services.case_reply(case=c, text="回复", actor=staff),
        ),
        "decide": (
            {"accepted"},
            lambda c: services.case_decide(case=c, outcome="unfounded", note="无据。", actor=staff),
        ),
        "withdraw": (OPEN, lambda c: services.case_withdraw(case=c, reason="", actor=CONSUMER)),
        "confirm": ({"decided"}, lambda c: services.case_confirm(case=c)),
        "rate": (
            {"decided", "closed", "not_accepted"},
            lambda c: services.case_rate(case=c, rating=4),
        ),
        "assign": (
            OPEN,
            lambda c: services.case_assign(case=c, assignee=scene.reviewer, actor=staff),
        ),
        "merge_away": (OPEN, lambda c: services.case_merge(duplicate=c, into=into, actor=staff)),
        "add_evidence": (
            ALL - {"merged", "withdrawn", "closed"},
            lambda c: services.case_add_evidence(
                case=c, images=[image("late")], actor=staff, added_by="staff"
            ),
        ),
    }


ACTIONS = [
    "accept",
    "not_accept",
    "request_info",
    "start_appraisal",
    "resume",
    "consumer_add_info",
    "reply",
    "decide",
    "withdraw",
    "confirm",
    "rate",
    "assign",
    "merge_away",
    "add_evidence",
]


@pytest.mark.parametrize("status", sorted(ALL))
@pytest.mark.parametrize("action", ACTIONS)
def test_each_transition_is_refused_from_the_wrong_state(scene, status, action):
    case = drive(scene, status)
    allowed, run = _actions(scene)[action]
    case.refresh_from_db()
    events = case.events.count()
    if status in allowed:
        run(case)  # the guard lets it through
        return
    with pytest.raises(Conflict):
        run(case)
    case.refresh_from_db()
    assert case.status == status
    assert case.events.count() == events


def test_a_case_is_rated_once(scene):
    case = drive(scene, CaseStatus.DECIDED)
    with pytest.raises(ValidationError):
        services.case_rate(case=case, rating=6)
    services.case_rate(case=case, rating=5, comment="处理很快")
    with pytest.raises(Conflict):
        services.case_rate(case=case, rating=1)
    case.refresh_from_db()
    assert (case.handling_rating, case.handling_comment) == (5, "处理很快")


def test_a_decision_needs_an_outcome_a_note_and_the_amount(scene, reviewer):
    case = drive(scene, CaseStatus.ACCEPTED)
    bad = [
        ({"outcome": "mystery", "note": "x"}, "outcome"),
        ({"outcome": "unfounded", "note": " "}, "note"),
        ({"outcome": "refund", "note": "退款"}, "refund_fen"),
        ({"outcome": "compensation", "note": "赔偿"}, "compensation_fen"),
    ]
    for kwargs, field in bad:
        with pytest.raises(ValidationError) as error:
            services.case_decide(case=case, actor=reviewer, **kwargs)
        assert field in error.value.message_dict
    case.refresh_from_db()
    assert case.status == CaseStatus.ACCEPTED
    case = services.case_decide(
        case=case, outcome="compensation", note="三倍赔偿。", compensation_fen=59700, actor=reviewer
    )
    assert (case.outcome, case.compensation_fen, case.refund_fen) == ("compensation", 59700, None)


@pytest.mark.parametrize("outcome", ["unfounded", "refund", "resolved_other"])
def test_a_compensation_amount_is_refused_with_any_outcome_but_compensation(
    scene, reviewer, outcome
):
    case = drive(scene, CaseStatus.ACCEPTED)
    with pytest.raises(ValidationError) as error:
        services.case_decide(
            case=case,
            outcome=outcome,
            note="经核实，投诉不成立。",
            refund_fen=100 if outcome == "refund" else None,
            compensation_fen=50_000,
            actor=reviewer,
        )
    assert "compensation_fen" in error.value.message_dict
    case.refresh_from_db()
    assert (case.status, case.compensation_fen) == (CaseStatus.ACCEPTED, None)


@pytest.mark.parametrize("outcome", ["unfounded", "referred_12315"])
def test_a_refund_is_refused_with_an_outcome_that_does_not_resolve_the_complaint(
    scene, reviewer, outcome
):
    case = drive(scene, CaseStatus.ACCEPTED)
    with pytest.raises(ValidationError) as error:
        services.case_decide(
            case=case, outcome=outcome, note="经核实。", refund_fen=19900, actor=reviewer
        )
    assert "refund_fen" in error.value.message_dict
    case.refresh_from_db()
    assert (case.status, case.refund_fen) == (CaseStatus.ACCEPTED, None)


@pytest.mark.parametrize("outcome", ["refund", "resolved_other", "compensation"])
def test_a_refund_goes_with_an_outcome_in_the_consumer_s_favour(scene, reviewer, outcome):
    case = drive(scene, CaseStatus.ACCEPTED)
    case = services.case_decide(
        case=case,
        outcome=outcome,
        note="退货退款。",
        refund_fen=19900,
        compensation_fen=59700 if outcome == "compensation" else None,
        actor=reviewer,
    )
    assert (case.status, case.refund_fen) == (CaseStatus.DECIDED, 19900)


def test_empty_texts_are_refused(scene, reviewer):
    case = scene.file()
    with pytest.raises(ValidationError):
        services.case_not_accept(case=case, reason=" ", actor=reviewer)
    with pytest.raises(ValidationError):
        services.case_request_info(case=case, message="", actor=reviewer)
    with pytest.raises(ValidationError):
        services.case_note(case=case, text=" ", actor=reviewer)
    with pytest.raises(ValidationError):
        services.case_reply(case=case, text="", actor=reviewer)
    with pytest.raises(ValidationError):
        services.case_consumer_add_info(case=case, text=" ")
    case.refresh_from_db()
    assert case.status == CaseStatus.NEW


def _staff_only(scene, case, other):
    return [
        lambda a: services.case_accept(case=case, actor=a),
        lambda a: services.case_not_accept(case=case, reason="不受理。", actor=a),
        lambda a: services.case_request_info(case=case, message="请补充。", actor=a),
        lambda a: services.case_start_appraisal(case=case, message="送检。", actor=a),
        lambda a: services.case_resume(case=case, actor=a),
        lambda a: services.case_note(case=case, text="备注", actor=a),
        lambda a: services.case_reply(case=case, text="回复", actor=a),
        lambda a: services.case_link(case=case, anchor=scene.anchor, actor=a),
        lambda a: services.case_decide(case=case, outcome="unfounded", note="无据。", actor=a),
        lambda a: services.case_merge(duplicate=case, into=other, actor=a),
        lambda a: services.case_assign(case=case, assignee=scene.reviewer, actor=a),
    ]


@pytest.mark.parametrize("who", ["consumer", "api", "no_role", "auditor"])
def test_staff_services_refuse_an_actor_without_the_permission(scene, who):
    case = scene.file()
    other = scene.file(order_number="other", contact_email="other@example.com")
    actor = {
        "consumer": CONSUMER,
        "api": Actor(label="api:platform"),
        "no_role": Actor.for_user(UserFactory()),
        "auditor": Actor.for_user(UserFactory(roles=["auditor"])),
    }[who]
    events = CaseEvent.objects.count()
    for call in _staff_only(scene, case, other):
        with pytest.raises(PermissionError):
            call(actor)
    case.refresh_from_db()
    assert case.status == CaseStatus.NEW
    assert CaseEvent.objects.count() == events


def test_a_link_to_a_party_of_the_wrong_kind_is_refused(scene, reviewer):
    case = scene.file()
    with pytest.raises(ValidationError):
        services.case_link(case=case, merchant=scene.anchor, actor=reviewer)
    case = services.case_link(case=case, anchor=scene.anchor, session=scene.session, actor=reviewer)
    case.refresh_from_db()
    assert (case.anchor, case.session) == (scene.anchor, scene.session)
    linked = case.events.get(kind=CaseEvent.Kind.LINKED)
    assert linked.public is False
    assert linked.data == {"anchor": scene.anchor.pk, "session": scene.session.pk}


def test_withdrawing_a_paused_case_clears_the_pause(scene, reviewer):
    case = services.case_request_info(case=scene.file(), message="请补充。", actor=reviewer)
    case = services.case_withdraw(case=case, reason="不想继续了。", actor=CONSUMER)
    case.refresh_from_db()
    assert case.status == CaseStatus.WITHDRAWN
    assert (case.paused_at, case.paused_from) == (None, "")
    assert case.closed_at is not None


def test_a_filing_that_fails_leaves_no_picture_on_disk(scene, monkeypatch, tmp_path):
    def broken(**kwargs):
        raise RuntimeError("the outbox is unreachable")

    monkeypatch.setattr(services.base, "webhook_emit", broken)
    with pytest.raises(RuntimeError):
        scene.file(evidence=[image("lost", "#abcdef")])
    assert not Case.objects.exists()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_a_received_time_more_than_a_year_ago_is_refused(scene):
    from datetime import timedelta

    from django.core.exceptions import ValidationError
    from django.utils import timezone

    with pytest.raises(ValidationError) as refused:
        scene.file(received_at=timezone.now() - timedelta(days=400))
    assert "received_at" in refused.value.message_dict
    assert not Case.objects.exists()


def test_a_contacts_first_two_filings_at_the_same_moment_count_two(db, monkeypatch):
    """The second filing's UPDATE finds no row yet, and its INSERT meets the first's."""
    from complaints.services import filing

    original = ReporterReputation.objects.get_or_create

    def first_filing_lands_meanwhile(*args, **kwargs):
        ReporterReputation.objects.create(contact_key="k-race", filed=1)
        return original(*args, **kwargs)

    monkeypatch.setattr(ReporterReputation.objects, "get_or_create", first_filing_lands_meanwhile)
    filing._count_filing("k-race")
    assert ReporterReputation.objects.get(contact_key="k-race").filed == 2
