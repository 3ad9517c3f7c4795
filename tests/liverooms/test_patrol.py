"""Patrol: the queue by risk, inspections, alert decisions, coverage, and risk grades."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from django.utils.html import escape

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
from tests.concurrency import attempt_while_held
from tests.factories import TEST_ACTOR, UserFactory
from tests.liverooms.conftest import REVIEWED

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


def alert(session, status=AlertStatus.OPEN, severity="high"):
    return Alert.objects.create(
        session=session,
        rule=rule(f"r{Alert.objects.count()}"),
        severity=severity,
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
        checklist=REVIEWED,
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
        services.alert_decide(
            alert=first, status=AlertStatus.DISMISSED, note="误报：说的是国家级标准", actor=actor
        )
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
    # The overdue session leads to its page and, on air, straight to its inspection.
    page = response.content.decode()
    assert f'href="/admin/liverooms/livesession/{session.pk}/change/"' in page
    assert f'href="/admin/liverooms/livesession/{session.pk}/inspect/"' in page
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


def test_deciding_an_alert_regrades_its_room_at_once(world):
    def score():
        world.room.refresh_from_db()
        return world.room.risk_score

    session = on_air(world)
    confirmed, dismissed = alert(session), alert(session)
    services.rooms_regrade(room_ids=[world.room.pk])
    two_open = score()
    services.alert_decide(alert=confirmed, status=AlertStatus.CONFIRMED, note="", actor=TEST_ACTOR)
    one_confirmed = score()
    assert one_confirmed > two_open  # a confirmed alert weighs more than an open one
    services.alert_decide(
        alert=dismissed, status=AlertStatus.DISMISSED, note="误报", actor=TEST_ACTOR
    )
    assert score() < one_confirmed  # a dismissed one not at all


def test_an_alert_weighs_in_the_grade_by_its_severity(world):
    """Two open high-severity lures must count for more than two low ones; a confirmed alert
    more than an open one of the same severity."""

    def points(room):
        room.refresh_from_db()
        return sum(r["points"] for r in room.risk_reasons if r["factor"] == "alerts")

    rooms = [
        LiveRoom.objects.create(
            owner=world.merchant, platform_ref=f"room-s{n}", title=f"直播间{n}", category="apparel"
        )
        for n in range(4)
    ]
    for room, severity, status in zip(
        rooms,
        ["low", "high", "critical", "critical"],
        [AlertStatus.OPEN, AlertStatus.OPEN, AlertStatus.OPEN, AlertStatus.CONFIRMED],
        strict=True,
    ):
        session = on_air_in(world, room)
        alert(session, status=status, severity=severity)
        alert(session, status=status, severity=severity)
        services.session_end(session=session, reason="下播", actor=TEST_ACTOR)
    services.rooms_regrade(room_ids=[r.pk for r in rooms])
    assert [points(room) for room in rooms] == [
        2 * services.ALERT_POINTS["low"][1],
        2 * services.ALERT_POINTS["high"][1],
        2 * services.ALERT_POINTS["critical"][1],
        min(30, 2 * services.ALERT_POINTS["critical"][0]),
    ]
    assert points(rooms[0]) < points(rooms[1]) < points(rooms[2]) < points(rooms[3])


def test_the_anchors_who_streamed_in_a_room_bring_their_record_to_its_grade(world, time_machine):
    """A restriction on an anchor who was on air in the room in the last 90 days counts in the
    room's grade; one on an anchor who streamed there longer ago, or never, does not."""
    from tests.liverooms.conftest import approved_anchor

    def record(room):
        room.refresh_from_db()
        return {r["factor"]: r["points"] for r in room.risk_reasons}.get("anchors_record", 0)

    session = on_air(world)  # world.anchor, in world.room
    services.session_end(session=session, reason="下播", actor=TEST_ACTOR)
    stranger = approved_anchor(world.reviewer)  # never on air in the room
    for party in (stranger, world.anchor, world.anchor):
        restriction_impose(
            party=party, kind=RestrictionKind.TRAFFIC, reason="限流", actor=TEST_ACTOR
        )
    services.rooms_regrade(room_ids=[world.room.pk])
    assert record(world.room) == 2 * 5
    owner_only = {r["factor"] for r in world.room.risk_reasons}
    assert "compliance_record" not in owner_only  # the owner has none of its own
    time_machine.move_to(timezone.now() + timedelta(days=services.ANCHOR_WINDOW_DAYS + 1))
    services.rooms_regrade(room_ids=[world.room.pk])
    assert record(world.room) == 0


def test_a_restriction_reversed_on_appeal_leaves_the_room_s_record_one_a_lead_ended_stays(world):
    from accounts.services import restriction_lift

    def record():
        services.rooms_regrade(room_ids=[world.room.pk])
        world.room.refresh_from_db()
        return {r["factor"]: r["points"] for r in world.room.risk_reasons}.get(
            "compliance_record", 0
        )

    wrong, ended = (
        restriction_impose(
            party=world.merchant, kind=RestrictionKind.TRAFFIC, reason="限流", actor=TEST_ACTOR
        )
        for _ in range(2)
    )
    assert record() == 20
    restriction_lift(
        restriction=wrong, reason="申诉撤销", actor=TEST_ACTOR, reversed_on_appeal=True
    )
    assert record() == 10
    restriction_lift(restriction=ended, reason="已整改，提前解除", actor=TEST_ACTOR)
    assert record() == 10


def test_the_inspection_window_is_configurable(world, client, settings):
    settings.PATROL_HIGH_RISK_MINUTES = 120
    session = on_air(world)
    LiveRoom.objects.filter(pk=world.room.pk).update(risk_grade=RiskGrade.HIGH, risk_score=70)
    LiveSession.objects.filter(pk=session.pk).update(started_at=timezone.now() - timedelta(hours=1))
    reviewer = verified_client(client, UserFactory(roles=["compliance_reviewer"]))
    rows = reviewer.get("/admin/liverooms/livesession/coverage/").context["rows"]
    assert [row["overdue"] for row in rows] == [False]


# --- alert decisions: dismissed with a reason ------------------------------------------------


def test_a_dismissal_needs_a_reason_and_a_confirmation_does_not(world):
    from django.core.exceptions import ValidationError

    session = on_air(world)
    false_alarm, real = alert(session), alert(session)
    actor = Actor.for_user(UserFactory(roles=["compliance_reviewer"]))
    with pytest.raises(ValidationError) as refused:
        services.alert_decide(
            alert=false_alarm, status=AlertStatus.DISMISSED, note=" ", actor=actor
        )
    assert "note" in refused.value.message_dict
    false_alarm.refresh_from_db()
    assert (false_alarm.status, false_alarm.decided_by) == (AlertStatus.OPEN, None)
    services.alert_decide(alert=real, status=AlertStatus.CONFIRMED, note="", actor=actor)
    real.refresh_from_db()
    assert (real.status, real.decided_by) == (AlertStatus.CONFIRMED, actor.user)


ALERTS = "/admin/liverooms/alert/"


def test_a_reviewer_dismisses_the_selected_alerts_with_one_reason(world, client):
    session = on_air(world)
    first, second, decided = alert(session), alert(session), alert(session)
    decided_by = Actor.for_user(UserFactory(roles=["compliance_reviewer"]))
    services.alert_decide(alert=decided, status=AlertStatus.CONFIRMED, note="", actor=decided_by)
    user = UserFactory(roles=["compliance_reviewer"])
    reviewer = verified_client(client, user)
    selection = {"action": "dismiss", "_selected_action": [first.pk, second.pk, decided.pk]}

    # The action asks for the reason first; the open alerts of the selection are listed.
    page = reviewer.post(ALERTS, selection)
    assert page.status_code == 200
    assert "csrfmiddlewaretoken" in page.content.decode()
    assert page.context["objects"] == sorted([first, second], key=lambda a: a.pk, reverse=True)
    # Without one, the service's refusal is on the reason's field and nothing is dismissed.
    empty = reviewer.post(ALERTS, {**selection, "apply": "1", "note": "  "})
    assert empty.status_code == 200
    assert empty.context["form"].errors["note"]
    assert Alert.objects.filter(status=AlertStatus.OPEN).count() == 2

    done = reviewer.post(
        ALERTS, {**selection, "apply": "1", "note": "说的是“国家级非遗”，不是绝对化用语"}
    )
    assert done.status_code == 302
    for each in (first, second):
        each.refresh_from_db()
        assert (each.status, each.decided_by, each.note) == (
            AlertStatus.DISMISSED,
            user,
            "说的是“国家级非遗”，不是绝对化用语",
        )
        assert each.decided_at is not None
    decided.refresh_from_db()
    assert (decided.status, decided.decided_by, decided.note) == (
        AlertStatus.CONFIRMED,
        decided_by.user,
        "",
    )
    listed = reviewer.get(ALERTS, {"status__exact": "dismissed"})
    assert "说的是“国家级非遗”" in listed.content.decode()


def test_an_auditor_cannot_dismiss_alerts(world, client):
    open_alert = alert(on_air(world))
    auditor = verified_client(client, UserFactory(roles=["auditor"]))
    auditor.post(
        ALERTS,
        {"action": "dismiss", "_selected_action": [open_alert.pk], "apply": "1", "note": "误报"},
    )
    response = auditor.post(
        f"{ALERTS}{open_alert.pk}/decide/", {"status": "dismissed", "note": "x"}
    )
    assert response.status_code == 403
    open_alert.refresh_from_db()
    assert open_alert.status == AlertStatus.OPEN


def test_a_reviewer_decides_one_alert_on_its_page(world, client):
    session = on_air(world)
    false_alarm, real = alert(session), alert(session)
    user = UserFactory(roles=["compliance_reviewer"])
    reviewer = verified_client(client, user)
    decide = f"{ALERTS}{false_alarm.pk}/decide/"
    assert decide in reviewer.get(f"{ALERTS}{false_alarm.pk}/change/").content.decode()

    refused = reviewer.post(decide, {"status": "dismissed", "note": ""})
    assert refused.status_code == 200
    assert refused.context["form"].errors["note"]
    dismissed = reviewer.post(decide, {"status": "dismissed", "note": "弹幕里的“国家级”是反讽"})
    assert dismissed.status_code == 302
    false_alarm.refresh_from_db()
    assert (false_alarm.status, false_alarm.note, false_alarm.decided_by) == (
        AlertStatus.DISMISSED,
        "弹幕里的“国家级”是反讽",
        user,
    )
    # Decided, its page shows the note and no longer offers a decision.
    page = reviewer.get(f"{ALERTS}{false_alarm.pk}/change/").content.decode()
    assert "弹幕里的“国家级”是反讽" in page and decide not in page
    assert reviewer.get(decide).status_code == 302

    confirmed = reviewer.post(f"{ALERTS}{real.pk}/decide/", {"status": "confirmed", "note": ""})
    assert confirmed.status_code == 302
    real.refresh_from_db()
    assert (real.status, real.decided_by) == (AlertStatus.CONFIRMED, user)


# --- coverage per shift ------------------------------------------------------------------------


def high_risk_session(world, *, started_ago, ended_ago=None, inspected_after=None, grade="high"):
    """A session of its own room, started (and ended) that many minutes ago, inspected that many
    minutes after going live."""
    n = LiveRoom.objects.count()
    room = LiveRoom.objects.create(
        owner=world.merchant, platform_ref=f"room-c{n}", title=f"直播间{n}", category="apparel"
    )
    LiveRoom.objects.filter(pk=room.pk).update(risk_grade=grade, risk_score=80)
    session = on_air_in(world, room)
    if inspected_after is not None:
        inspection = services.inspection_record(
            session=session,
            checklist={},
            findings="",
            result="no_issue",
            actor=Actor.for_user(UserFactory(roles=["compliance_reviewer"])),
        )
    if ended_ago is not None:
        services.session_end(session=session, reason="下播", actor=TEST_ACTOR)
    now = timezone.now()
    LiveSession.objects.filter(pk=session.pk).update(
        started_at=now - timedelta(minutes=started_ago),
        ended_at=None if ended_ago is None else now - timedelta(minutes=ended_ago),
    )
    if inspected_after is not None:
        Inspection.objects.filter(pk=inspection.pk).update(
            at=now - timedelta(minutes=started_ago - inspected_after)
        )
    return session


def at_local(time_machine, hour, *, days_ahead=1):
    """Freeze the clock at `hour`:00 Beijing time `days_ahead` days from today (ahead, so that
    what the fixtures made a moment ago is not in the future)."""
    day = timezone.localdate() + timedelta(days=days_ahead)
    moment = datetime.combine(day, time(hour), tzinfo=timezone.get_current_timezone())
    time_machine.move_to(moment, tick=False)
    return moment


def test_coverage_reports_every_high_risk_session_on_air_in_the_shift_ended_or_not(
    world, client, time_machine
):
    now = at_local(time_machine, 15)  # the 08:00–16:00 shift, seven hours in
    never = high_risk_session(world, started_ago=120, ended_ago=60)
    ended_before_its_deadline = high_risk_session(world, started_ago=100, ended_ago=90)
    in_time = high_risk_session(world, started_ago=300, ended_ago=200, inspected_after=10)
    late = high_risk_session(world, started_ago=180, inspected_after=45)
    # Went live in the shift before (05:00), and is still on air.
    overdue = high_risk_session(world, started_ago=600)
    pending = high_risk_session(world, started_ago=10)
    # Not in this shift: ended at 06:40, before it began; ended at 08:00 as it began; and not
    # high risk.
    earlier = high_risk_session(world, started_ago=700, ended_ago=500)
    at_the_change = high_risk_session(world, started_ago=480, ended_ago=420)
    high_risk_session(world, started_ago=120, grade=RiskGrade.LOW)

    reviewer = verified_client(client, UserFactory(roles=["compliance_reviewer"]))
    response = reviewer.get("/admin/liverooms/livesession/coverage/")
    assert response.context["shift"].start == now.replace(hour=8)
    assert response.context["is_current"]
    states = {row["session"]: row["state"] for row in response.context["rows"]}
    assert states == {
        never: "never",
        # Off the air ten minutes in, before its 30-minute deadline: not a miss.
        ended_before_its_deadline: "ended_early",
        in_time: "in_time",
        late: "late",
        overdue: "never",
        pending: "pending",
    }
    counts = [n for _label, n in response.context["counts"]]
    assert counts == [1, 1, 2, 1, 1]  # in time, late, never, pending, ended before the deadline
    # The load per reviewer: the two inspections, by two reviewers.
    assert [r["n"] for r in response.context["reviewers"]] == [1, 1]

    # The shift before, 00:00–08:00, named in the query string: what was on air in it.
    before = reviewer.get(
        "/admin/liverooms/livesession/coverage/", {"day": f"{now:%Y-%m-%d}", "begins": "00:00"}
    )
    assert before.status_code == 200
    assert not before.context["is_current"]
    assert {row["session"]: row["state"] for row in before.context["rows"]} == {
        earlier: "never",
        overdue: "never",
        at_the_change: "never",
    }
    assert before.context["reviewers"] == []  # both inspections came in the later shift
    assert before.context["on_air"] is None  # "on air now" belongs to the shift under way
    assert before.context["following"] == f"?day={now:%Y-%m-%d}&begins=08:00"


def test_the_staffing_guideline_is_held_against_the_most_sessions_on_air_at_once(
    world, client, time_machine, settings
):
    settings.PATROL_ROOMS_PER_REVIEWER = 2
    at_local(time_machine, 15)
    # Five sessions in the shift, at most three on air at one time (from 13:00 to 13:20), one of
    # them inspected by the only reviewer of the shift.
    high_risk_session(world, started_ago=300, ended_ago=240)  # 10:00–11:00
    high_risk_session(world, started_ago=240, ended_ago=180)  # 11:00–12:00, right after it
    high_risk_session(world, started_ago=120, inspected_after=5)  # 13:00–
    high_risk_session(world, started_ago=130, ended_ago=100)  # 12:50–13:20
    high_risk_session(world, started_ago=110, grade=RiskGrade.LOW)  # 13:10–, low risk counts too
    reviewer = verified_client(client, UserFactory(roles=["compliance_reviewer"]))
    reviewer.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = reviewer.get("/admin/liverooms/livesession/coverage/")
    context = response.context
    assert context["peak"] == 3
    assert len(context["reviewers"]) == 1
    assert context["rooms_per_reviewer"] == 3.0
    assert context["understaffed"] and context["reviewers_needed"] == 2
    assert "the peak needed 2" in response.content.decode()

    settings.PATROL_ROOMS_PER_REVIEWER = 3
    within = reviewer.get("/admin/liverooms/livesession/coverage/").context
    assert not within["understaffed"]


@pytest.mark.parametrize(
    ("query", "field", "error"),
    [
        ({"day": "{tomorrow}", "begins": "08:00"}, "__all__", "That shift has not begun yet."),
        # Year 9999's last shift would end in a year that does not exist.
        ({"day": "9999-12-31", "begins": "16:00"}, "__all__", "That shift has not begun yet."),
        (
            {"day": "0001-01-01", "begins": "00:00"},
            "__all__",
            "The coverage report reaches back 14 days.",
        ),
        (
            {"day": "{long_ago}", "begins": "08:00"},
            "__all__",
            "The coverage report reaches back 14 days.",
        ),
        ({"day": "{today}", "begins": "07:00"}, "begins", None),  # no shift begins then
        ({"day": "30/11/2026", "begins": "08:00"}, "day", None),
    ],
)
def test_a_shift_the_report_cannot_show_is_a_form_error_over_the_shift_under_way(
    world, client, time_machine, settings, query, field, error
):
    now = at_local(time_machine, 15)
    days = {
        "tomorrow": f"{now + timedelta(days=1):%Y-%m-%d}",
        "long_ago": f"{now - timedelta(days=15):%Y-%m-%d}",
        "today": f"{now:%Y-%m-%d}",
    }
    reviewer = verified_client(client, UserFactory(roles=["compliance_reviewer"]))
    reviewer.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = reviewer.get(
        "/admin/liverooms/livesession/coverage/",
        {key: value.format(**days) for key, value in query.items()},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [field]
    if error is not None:
        assert errors[field] == [error]
    # Shown on the page, over the report of the shift under way.
    assert 'lang="en"' in response.content.decode()
    assert escape(errors[field][0]) in response.content.decode()
    assert response.context["is_current"]


def test_the_last_shift_of_a_day_runs_into_the_next(settings):
    from liverooms.shifts import shift_at, starts

    settings.PATROL_SHIFT_STARTS = ["22:00", "06:00", "14:00"]
    assert [f"{t:%H:%M}" for t in starts()] == ["06:00", "14:00", "22:00"]
    tz = timezone.get_current_timezone()
    one_am = datetime(2026, 12, 2, 1, 0, tzinfo=tz)
    shift = shift_at(one_am)
    assert (shift.start, shift.end) == (
        datetime(2026, 12, 1, 22, 0, tzinfo=tz),
        datetime(2026, 12, 2, 6, 0, tzinfo=tz),
    )
    assert shift.label == "2026-12-01 22:00–06:00"
    assert shift_at(datetime(2026, 12, 2, 6, 0, tzinfo=tz)).begins == time(6)


def test_the_coverage_report_takes_as_many_queries_for_many_sessions_as_for_one(
    world, client, time_machine
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # Seven hours into a shift: within the first hour of one, the sessions below began in the
    # shift before and the report of the shift under way would not list them.
    at_local(time_machine, 15)
    reviewer = verified_client(client, UserFactory(roles=["compliance_reviewer"]))
    url = "/admin/liverooms/livesession/coverage/"
    high_risk_session(world, started_ago=60, ended_ago=30, inspected_after=5)
    reviewer.get(url)  # the session and per-process caches
    with CaptureQueriesContext(connection) as one:
        assert len(reviewer.get(url).context["rows"]) == 1
    for started in (50, 40, 30):
        high_risk_session(world, started_ago=started, ended_ago=started - 5, inspected_after=2)
    high_risk_session(world, started_ago=20)
    with CaptureQueriesContext(connection) as many:
        assert len(reviewer.get(url).context["rows"]) == 5
    assert len(many) == len(one), "\n".join(q["sql"] for q in many.captured_queries)


def test_a_session_s_page_takes_as_many_queries_for_many_alerts_as_for_one(world, client):
    """Its alerts and inspections are listed with their rules and inspectors, not a query for
    each row's."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    session = on_air(world)

    def inspect():
        actor = Actor.for_user(UserFactory(roles=["compliance_reviewer"]))
        services.inspection_record(
            session=session, checklist={}, findings="", result="no_issue", actor=actor
        )

    alert(session)
    inspect()
    lead = verified_client(client, UserFactory(roles=["compliance_lead"]))
    url = f"/admin/liverooms/livesession/{session.pk}/change/"
    lead.get(url)  # the session and per-process caches
    with CaptureQueriesContext(connection) as one:
        assert lead.get(url).status_code == 200
    for _ in range(10):
        alert(session)
        inspect()
    with CaptureQueriesContext(connection) as many:
        assert lead.get(url).status_code == 200
    assert len(many) == len(one), "\n".join(q["sql"] for q in many.captured_queries)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_regrades_of_a_room_at_once_leave_the_grade_a_regrade_gives_now(world):
    """An alert dismissed (its room regraded, not yet committed) while a batch raises another
    in the same room: the batch's regrade waits for the room and reads the dismissal. Read in the
    statement that waited for the lock, it counted the dismissed alert as open."""
    session = on_air(world)
    dismissed = alert(session)

    def raise_another():
        received = services.signals_ingest(
            session=session,
            signals=[{"kind": "chat", "at": timezone.now(), "text": "加微信私聊转账"}],
            actor=TEST_ACTOR,
        )
        assert received.alerts

    # The batch's regrade waits for the room's row, held by the dismissal's.
    attempt_while_held(
        lambda: services.alert_decide(
            alert=dismissed, status=AlertStatus.DISMISSED, note="误报", actor=TEST_ACTOR
        ),
        raise_another,
    )
    world.room.refresh_from_db()
    stored = (world.room.risk_score, world.room.risk_reasons)
    services.rooms_regrade(room_ids=[world.room.pk])
    world.room.refresh_from_db()
    assert stored == (world.room.risk_score, world.room.risk_reasons)


def test_a_session_s_page_lists_its_latest_alerts_and_leads_to_all_of_them(world, client):
    """A session with thousands of alerts would list each on its page: the page shows the
    latest, says how many there are, and links to the alert list filtered to the session."""
    from liverooms.admin import AlertInline

    session = on_air(world)
    raised = [alert(session) for _ in range(AlertInline.shown + 3)]
    services.alert_decide(alert=raised[0], status=AlertStatus.CONFIRMED, note="", actor=TEST_ACTOR)
    elsewhere = LiveRoom.objects.create(
        owner=world.merchant, platform_ref="room-2", title="另一个直播间", category="apparel"
    )
    other = alert(on_air_in(world, elsewhere))
    lead = verified_client(client, UserFactory(roles=["compliance_lead"]))
    page = lead.get(f"/admin/liverooms/livesession/{session.pk}/change/")
    inline = next(f for f in page.context["inline_admin_formsets"] if f.opts.model is Alert)
    listed = [form.instance for form in inline.formset.forms]
    newest_first = sorted(raised, key=lambda a: (a.raised_at, a.pk), reverse=True)
    assert listed == newest_first[: AlertInline.shown]
    html = page.content.decode()
    assert f"共 {len(raised)} 条，其中 {len(raised) - 1} 条待处理。" in html
    link = f"/admin/liverooms/alert/?session__id__exact={session.pk}"
    assert f'href="{link}"' in html

    every = lead.get(link + "&all=")
    assert every.status_code == 200
    shown = {a.pk for a in every.context["cl"].result_list}
    assert shown == {a.pk for a in raised} and other.pk not in shown
