"""Patrol: the queue by risk, inspections, alert decisions, coverage, and risk grades."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import RestrictionKind
from accounts.services import restriction_impose
from config.errors import Conflict
from liverooms import services
from liverooms.models import (
    Alert,
    AlertStatus,
    Inspection,
    LiveRoom,
    LiveSession,
    MonitoringRule,
    RiskGrade,
)
from tests.accounts.test_roles import verified_client
from tests.factories import TEST_ACTOR, UserFactory

pytestmark = pytest.mark.django_db


def on_air(world):
    response = world.go_live()
    assert response.status_code == 201, response.content
    return LiveSession.objects.get(pk=response.json()["id"])


def rule(code="adl9_absolute_terms"):
    return MonitoringRule.objects.create(
        code=code,
        category="absolute_terms",
        severity="high",
        kind="keyword",
        keywords=["国家级"],
        signal_kinds=["transcript"],
        legal_basis="AdL Art. 9(3)",
    )


def alert(session, status=AlertStatus.OPEN):
    return Alert.objects.create(
        session=session,
        rule=rule(f"r{Alert.objects.count()}"),
        severity="high",
        signal_kind="transcript",
        excerpt="国家级",
        start=0,
        end=3,
        stream_at=timezone.now(),
        status=status,
    )


def test_the_patrol_queue_lists_sessions_on_air_riskiest_first_with_open_alerts(world, client):
    calm = on_air(world)
    risky_room = LiveRoom.objects.create(
        owner=world.merchant, platform_ref="room-2", title="高风险直播间", category="apparel"
    )
    risky = on_air_in(world, risky_room)
    LiveRoom.objects.filter(pk=risky_room.pk).update(risk_score=80, risk_grade=RiskGrade.HIGH)
    alert(risky)
    alert(risky, status=AlertStatus.DISMISSED)
    reviewer = verified_client(client, UserFactory(roles=["compliance_reviewer"]))
    response = reviewer.get("/admin/liverooms/livesession/", {"status__exact": "live"})
    rows = list(response.context["cl"].result_list)
    assert rows == [risky, calm]
    assert rows[0].open_alert_count == 1


def on_air_in(world, room):
    from liverooms.services import session_start

    outcome = session_start(
        room=room,
        anchors=[world.anchor],
        products=[],
        ai_generated=False,
        checklist={},
        actor=TEST_ACTOR,
    )
    assert outcome.allowed, outcome.reasons
    return outcome.session


def test_an_inspector_records_an_inspection_with_a_screenshot(world, client):
    from accounts.demo import demo_image

    session = on_air(world)
    user = UserFactory(roles=["compliance_reviewer"])
    reviewer = verified_client(client, user)
    response = reviewer.post(
        f"/admin/liverooms/livesession/{session.pk}/inspect/",
        {
            "result": "correction_requested",
            "findings": "主播口播“全网最低价”，已要求更正",
            "identity_checked": "on",
            "screenshot": demo_image("screen"),
        },
    )
    assert response.status_code == 302
    inspection = Inspection.objects.get()
    assert (inspection.inspector, inspection.result) == (user, "correction_requested")
    assert inspection.checklist["identity_checked"] is True
    assert inspection.screenshot.startswith("private/inspections/")


def test_a_finding_needs_a_description(world):
    session = on_air(world)
    actor = Actor.for_user(UserFactory(roles=["compliance_reviewer"]))
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.inspection_record(
            session=session, checklist={}, findings="", result="violation_suspected", actor=actor
        )
    assert not Inspection.objects.exists()


def test_an_auditor_cannot_inspect(world, client):
    session = on_air(world)
    auditor = verified_client(client, UserFactory(roles=["auditor"]))
    response = auditor.post(
        f"/admin/liverooms/livesession/{session.pk}/inspect/", {"result": "no_issue"}
    )
    assert response.status_code == 403


def test_alerts_are_confirmed_or_dismissed_once(world):
    session = on_air(world)
    first = alert(session)
    actor = Actor.for_user(UserFactory(roles=["compliance_reviewer"]))
    services.alert_decide(alert=first, status=AlertStatus.CONFIRMED, note="", actor=actor)
    with pytest.raises(Conflict):
        services.alert_decide(alert=first, status=AlertStatus.DISMISSED, note="", actor=actor)
    first.refresh_from_db()
    assert first.status == AlertStatus.CONFIRMED


def test_coverage_flags_a_high_risk_session_not_inspected_in_time(world, client, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    session = on_air(world)
    LiveRoom.objects.filter(pk=world.room.pk).update(risk_grade=RiskGrade.HIGH, risk_score=70)
    LiveSession.objects.filter(pk=session.pk).update(started_at=timezone.now() - timedelta(hours=1))
    reviewer = verified_client(client, UserFactory(roles=["compliance_reviewer"]))
    response = reviewer.get("/admin/liverooms/livesession/coverage/")
    assert response.status_code == 200
    assert [row["overdue"] for row in response.context["rows"]] == [True]
    index = reviewer.get("/admin/")
    counts = {q["key"]: q["count"] for q in index.context["queues"]}
    assert counts["patrol_overdue"] == 1


def test_risk_grades_follow_reach_category_record_and_alerts(world):
    quiet = world.room
    big = LiveRoom.objects.create(
        owner=world.merchant,
        platform_ref="room-big",
        title="美妆大场",
        category="cosmetics",
        followers=2_000_000,
        monthly_sales_fen=5_000_000_00,
    )
    restriction_impose(
        party=world.merchant, kind=RestrictionKind.TRAFFIC, reason="限流", actor=TEST_ACTOR
    )
    graded = services.rooms_regrade()
    assert graded == 2
    quiet.refresh_from_db()
    big.refresh_from_db()
    assert big.risk_grade == RiskGrade.HIGH
    assert big.risk_score > quiet.risk_score
    factors = {r["factor"] for r in big.risk_reasons}
    assert {"followers", "sales", "category", "compliance_record"} <= factors


def grade(room):
    room.refresh_from_db()
    return room.risk_grade, {r["factor"] for r in room.risk_reasons}


def test_a_room_is_graded_when_it_is_registered_or_updated_not_only_at_night(world):
    big = services.room_register(
        owner=world.merchant,
        platform_ref="room-food-big",
        title="零食大场",
        category="food",
        followers=3_000_000,
        monthly_sales_fen=5_000_000_00,
        actor=TEST_ACTOR,
    )
    assert big.risk_grade == RiskGrade.HIGH  # as returned, and as stored:
    assert grade(big) == (RiskGrade.HIGH, {"followers", "sales", "category"})
    small = services.room_register(
        owner=world.merchant,
        platform_ref="room-small",
        title="小店",
        category="general",
        actor=TEST_ACTOR,
    )
    assert grade(small) == (RiskGrade.LOW, set())
    # The room grew: the update through the owner's own key grades it again.
    services.room_register(
        owner=world.merchant,
        platform_ref="room-small",
        title="小店",
        category="food",
        followers=2_000_000,
        monthly_sales_fen=2_000_000_00,
        actor=TEST_ACTOR,
        party_id=world.merchant.pk,
    )
    assert grade(small)[0] == RiskGrade.HIGH


def test_a_room_that_grew_goes_live_high_risk_without_waiting_for_the_regrade(world):
    room = services.room_register(
        owner=world.merchant,
        platform_ref=world.room.platform_ref,
        title=world.room.title,
        category="food",
        followers=3_000_000,
        monthly_sales_fen=5_000_000_00,
        actor=TEST_ACTOR,
    )
    assert room.pk == world.room.pk
    session = on_air(world)
    assert session.room.risk_grade == RiskGrade.HIGH


def test_alerts_and_restrictions_weigh_in_the_room_s_grade_at_once(world):
    session = on_air(world)
    before = world.room.risk_score
    response = world.api.post(
        f"/api/v1/live-sessions/{session.pk}/signals/",
        {
            "signals": [
                {"kind": "chat", "at": timezone.now().isoformat(), "text": "加微信私聊转账"},
            ]
        },
        format="json",
    )
    assert response.status_code == 200 and response.json()["alerts"], response.content
    assert "alerts" in grade(world.room)[1]
    assert world.room.risk_score > before
    with_alerts = world.room.risk_score
    restriction_impose(
        party=world.merchant, kind=RestrictionKind.TRAFFIC, reason="限流", actor=TEST_ACTOR
    )
    assert "compliance_record" in grade(world.room)[1]
    assert world.room.risk_score > with_alerts


def test_the_inspection_window_is_configurable(world, client, settings):
    settings.PATROL_HIGH_RISK_MINUTES = 120
    session = on_air(world)
    LiveRoom.objects.filter(pk=world.room.pk).update(risk_grade=RiskGrade.HIGH, risk_score=70)
    LiveSession.objects.filter(pk=session.pk).update(started_at=timezone.now() - timedelta(hours=1))
    reviewer = verified_client(client, UserFactory(roles=["compliance_reviewer"]))
    rows = reviewer.get("/admin/liverooms/livesession/coverage/").context["rows"]
    assert [row["overdue"] for row in rows] == [False]
