"""The clocks of a case in Chinese working days (RULES.md §4): acceptance 7, resolution the
configured target, mediation 45 from acceptance; counted from the Beijing date of receipt, paused
while the case waits for the consumer or an appraisal.

Every expected date below was counted by hand on the State Council's schedules:
- 2024 National Day: 1-7 Oct off; Sun 29 Sep and Sat 12 Oct worked.
- 2025 Spring Festival: 28 Jan-4 Feb off; Sun 26 Jan and Sat 8 Feb worked.
- 2025 National Day and Mid-Autumn: 1-8 Oct off; Sun 28 Sep and Sat 11 Oct worked.
"""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from accounts.actors import Actor
from complaints import services
from complaints.models import CaseStatus

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def reviewer(scene) -> Actor:
    return Actor.for_user(scene.reviewer)


def test_the_project_counts_in_beijing_time(settings):
    assert settings.TIME_ZONE == "Asia/Shanghai"
    assert settings.USE_TZ is True


@pytest.mark.parametrize(
    ("received", "acceptance_due", "resolution_due"),
    [
        # An ordinary fortnight: Mon 3 Nov 2025 + 7 = Wed 12 Nov, + 10 = Mon 17 Nov.
        (date(2025, 11, 3), date(2025, 11, 12), date(2025, 11, 17)),
        # Fri 26 Sep 2025: Sep 28 (Sun, worked), 29, 30, [Oct 1-8 off], Oct 9, 10,
        # 11 (Sat, worked), 13 -> 7th; then 14, 15, 16 -> 10th.
        (date(2025, 9, 26), date(2025, 10, 13), date(2025, 10, 16)),
        # Fri 27 Sep 2024: Sep 29 (Sun, worked), 30, [Oct 1-7 off], Oct 8, 9, 10, 11,
        # 12 (Sat, worked) -> 7th; then 14, 15, 16 -> 10th.
        (date(2024, 9, 27), date(2024, 10, 12), date(2024, 10, 16)),
        # Fri 24 Jan 2025: Jan 26 (Sun, worked), 27, [Jan 28-Feb 4 off], Feb 5, 6, 7,
        # 8 (Sat, worked), 10 -> 7th; then 11, 12, 13 -> 10th.
        (date(2025, 1, 24), date(2025, 2, 10), date(2025, 2, 13)),
        # Received on a holiday (Thu 2 Oct 2025): Oct 9, 10, 11, 13, 14, 15, 16 -> 7th;
        # 17, 20, 21 -> 10th.
        (date(2025, 10, 2), date(2025, 10, 16), date(2025, 10, 21)),
    ],
)
def test_acceptance_and_resolution_are_counted_in_working_days_across_holidays(
    scene, time_machine, received, acceptance_due, resolution_due
):
    time_machine.move_to(at(received, 12), tick=False)
    case = scene.file(received_at=at(received, 9))
    case.refresh_from_db()
    assert case.acceptance_due == acceptance_due
    assert case.resolution_due == resolution_due
    assert case.mediation_due is None  # runs from acceptance only
    assert case.deadline_estimated is False


@pytest.mark.parametrize(
    ("received_at", "acceptance_due"),
    [
        # 23:30 in Beijing on Mon 29 Sep is still the 29th: Sep 30, Oct 9, 10, 11, 13, 14, 15.
        (datetime(2025, 9, 29, 23, 30, tzinfo=SHANGHAI), date(2025, 10, 15)),
        # 16:30 UTC the same day is 00:30 on Tue 30 Sep in Beijing: Oct 9, 10, 11, 13-16.
        (datetime(2025, 9, 29, 16, 30, tzinfo=UTC), date(2025, 10, 16)),
        # 23:30 UTC on Thu 25 Sep is Fri 26 Sep in Beijing (13 Oct), not the 25th (11 Oct).
        (datetime(2025, 9, 25, 23, 30, tzinfo=UTC), date(2025, 10, 13)),
    ],
)
def test_the_beijing_date_of_receipt_starts_the_clock(
    scene, time_machine, received_at, acceptance_due
):
    time_machine.move_to(datetime(2025, 10, 1, 12, tzinfo=SHANGHAI), tick=False)
    case = scene.file(received_at=received_at)
    case.refresh_from_db()
    assert case.acceptance_due == acceptance_due


def test_the_resolution_target_is_the_configured_number_of_working_days(
    scene, settings, time_machine
):
    time_machine.move_to(at(date(2025, 9, 26), 12), tick=False)
    settings.COMPLAINT_RESOLUTION_WORKING_DAYS = 15
    case = scene.file(received_at=at(date(2025, 9, 26)))
    # After the 10th (16 Oct): 17, 20, 21, 22, 23 -> the 15th working day.
    assert case.resolution_due == date(2025, 10, 23)
    # The acceptance clock is the law's, not the platform's choice.
    assert case.acceptance_due == date(2025, 10, 13)


def test_the_default_resolution_target_is_ten_working_days(settings):
    assert settings.COMPLAINT_RESOLUTION_WORKING_DAYS == 10


@pytest.mark.parametrize(
    ("accepted_on", "mediation_due"),
    [
        # Accepted the day it came in (Fri 26 Sep 2025): Sep 28-30 and Oct 9-11 are 6, then
        # 13 Oct-4 Dec holds the other 39 (no holidays) -> Thu 4 Dec.
        (date(2025, 9, 26), date(2025, 12, 4)),
        # Accepted on the first working day after the holiday: 4 working days later -> Wed 10 Dec.
        (date(2025, 10, 9), date(2025, 12, 10)),
    ],
)
def test_mediation_ends_45_working_days_after_acceptance(
    scene, reviewer, time_machine, accepted_on, mediation_due
):
    time_machine.move_to(at(date(2025, 9, 26), 11), tick=False)
    case = scene.file(received_at=at(date(2025, 9, 26)))
    time_machine.move_to(at(accepted_on, 15), tick=False)
    case = services.case_accept(case=case, actor=reviewer)
    case.refresh_from_db()
    assert case.status == CaseStatus.ACCEPTED
    assert case.mediation_due == mediation_due
    assert case.acceptance_due == date(2025, 10, 13)  # unchanged by accepting


def test_a_deadline_past_the_known_calendar_is_counted_on_weekdays_and_flagged(
    scene, reviewer, time_machine
):
    # The published calendars end with 2026. Thu 24 Dec 2026: Dec 25, 28, 29, 30, 31 are 5;
    # 1 Jan 2027 is unknown and counted as the Friday it is (6), Mon 4 Jan is the 7th.
    time_machine.move_to(at(date(2026, 12, 24), 12), tick=False)
    case = scene.file(received_at=at(date(2026, 12, 24)))
    case.refresh_from_db()
    assert case.acceptance_due == date(2027, 1, 4)
    assert case.resolution_due == date(2027, 1, 7)
    assert case.deadline_estimated is True


def test_estimated_deadlines_are_computed_again_once_the_next_year_is_entered(
    scene, reviewer, time_machine, django_capture_on_commit_callbacks
):
    from accounts.models import CalendarYear
    from accounts.workdays import DayEntry, calendar_year_add

    time_machine.move_to(at(date(2026, 12, 24), 12), tick=False)
    case = scene.file(received_at=at(date(2026, 12, 24)))
    paused = scene.file(received_at=at(date(2026, 12, 24)), order_number="ORD-2")
    services.case_request_info(case=paused, message="请补充", actor=reviewer)
    assert case.acceptance_due == date(2027, 1, 4)  # 1 Jan counted as a plain Friday
    # The lead enters 2027: New Year's Day off, and (for the test) Mon 4 Jan as well.
    with django_capture_on_commit_callbacks(execute=True):
        calendar_year_add(
            calendar_year=CalendarYear(
                year=2027, notice_title="国务院办公厅关于2027年部分节假日安排的通知"
            ),
            days=[
                DayEntry(date(2027, 1, 1), "holiday", "元旦"),
                DayEntry(date(2027, 1, 4), "holiday", "元旦"),
            ],
            actor=Actor.for_user(scene.lead),
        )

    # Both open cases, the one waiting for the consumer too (its pause is added when it ends).
    assert services.refresh_deadlines(actor=Actor.system("tests")) == 2
    for refreshed in (case, paused):
        refreshed.refresh_from_db()
        # Dec 25, 28, 29, 30, 31 are 5; Jan 1 and 4 are off; Tue 5 and Wed 6 Jan are 6 and 7.
        assert refreshed.acceptance_due == date(2027, 1, 6)
        assert refreshed.deadline_estimated is False
    assert services.refresh_deadlines(actor=Actor.system("tests")) == 0  # nothing left
    event = case.events.get(kind="deadlines_updated")
    assert event.public is True
    assert event.data["before"][0] == "2027-01-04"


def test_a_correction_to_a_known_year_moves_the_open_cases_it_touches(
    scene, reviewer, time_machine
):
    from accounts.models import CalendarDay, CalendarYear

    time_machine.move_to(at(date(2026, 12, 14), 12), tick=False)
    case = scene.file(received_at=at(date(2026, 12, 14)))
    assert (case.acceptance_due, case.deadline_estimated) == (date(2026, 12, 23), False)
    # A lead adds a day off the published notice had moved (hypothetically Fri 18 Dec).
    CalendarDay.objects.create(
        year=CalendarYear.objects.get(year=2026), date=date(2026, 12, 18), kind="holiday", name="调"
    )

    assert services.refresh_deadlines(actor=Actor.system("tests")) == 1
    case.refresh_from_db()
    assert case.acceptance_due == date(2026, 12, 24)
    assert case.deadline_estimated is False


def test_a_deadline_inside_the_known_calendar_is_not_flagged(scene, time_machine):
    # Mon 14 Dec 2026 + 10 = Mon 28 Dec: every counted day is in the 2026 calendar.
    time_machine.move_to(at(date(2026, 12, 14), 12), tick=False)
    case = scene.file(received_at=at(date(2026, 12, 14)))
    assert case.resolution_due == date(2026, 12, 28)
    assert case.deadline_estimated is False


def test_accepting_with_mediation_past_the_calendar_flags_a_case_that_was_exact(
    scene, reviewer, time_machine
):
    time_machine.move_to(at(date(2026, 11, 2), 12), tick=False)
    case = scene.file(received_at=at(date(2026, 11, 2)))
    assert case.deadline_estimated is False
    # 45 working days from 3 Nov 2026 end in January 2027, beyond the published calendar.
    time_machine.move_to(at(date(2026, 11, 3), 12), tick=False)
    case = services.case_accept(case=case, actor=reviewer)
    assert case.mediation_due.year == 2027
    assert case.deadline_estimated is True


# --- Clock pauses ---------------------------------------------------------------------------


def test_waiting_for_the_consumer_moves_every_running_clock_by_the_working_days_waited(
    scene, reviewer, time_machine
):
    # Filed Mon 22 Sep 2025: acceptance due Tue 30 Sep (7), resolution due Sat 11 Oct (10; the
    # Saturday is a worked day).
    time_machine.move_to(at(date(2025, 9, 22)), tick=False)
    case = scene.file(received_at=at(date(2025, 9, 22), 9))
    assert (case.acceptance_due, case.resolution_due) == (date(2025, 9, 30), date(2025, 10, 11))

    # Asked for the receipt on Wed 24 Sep, before accepting.
    time_machine.move_to(at(date(2025, 9, 24), 16), tick=False)
    case = services.case_request_info(case=case, message="请上传订单截图。", actor=reviewer)
    assert case.status == CaseStatus.AWAITING_CONSUMER
    assert case.paused_from == CaseStatus.NEW

    # The consumer answers on Fri 10 Oct: Sep 25, 26, 28, 29, 30, Oct 9, 10 = 7 working days.
    time_machine.move_to(at(date(2025, 10, 10), 20), tick=False)
    case = services.case_consumer_add_info(case=case, text="截图已上传。")
    case.refresh_from_db()
    assert case.status == CaseStatus.NEW
    assert case.paused_at is None and case.paused_from == ""
    # 30 Sep + 7 = Oct 9, 10, 11, 13, 14, 15, 16; 11 Oct + 7 = Oct 13, 14, 15, 16, 17, 20, 21.
    assert case.acceptance_due == date(2025, 10, 16)
    assert case.resolution_due == date(2025, 10, 21)
    added = case.events.get(kind="info_added")
    assert added.data["paused_working_days"] == 7


def test_a_pause_after_acceptance_moves_resolution_and_mediation_but_not_acceptance(
    scene, reviewer, time_machine
):
    time_machine.move_to(at(date(2025, 11, 3)), tick=False)  # Monday
    case = scene.file(received_at=at(date(2025, 11, 3), 9))
    case = services.case_accept(case=case, actor=reviewer)
    before = (case.acceptance_due, case.resolution_due, case.mediation_due)
    # Mon 3 Nov + 7 = 12 Nov; + 10 = 17 Nov; + 45 = Fri 2 Jan 2026 would be a holiday in 2026's
    # calendar (1-3 Jan off, Sun 4 Jan worked): Nov 4..28 are 19, Dec 1..31 are 23 (42), then
    # Jan 4 (Sun, worked), 5, 6 -> Tue 6 Jan 2026.
    assert before == (date(2025, 11, 12), date(2025, 11, 17), date(2026, 1, 6))

    time_machine.move_to(at(date(2025, 11, 4)), tick=False)
    case = services.case_request_info(case=case, message="请补充质检报告。", actor=reviewer)
    # Answered on Tue 11 Nov: Nov 5, 6, 7, 10, 11 = 5 working days.
    time_machine.move_to(at(date(2025, 11, 11)), tick=False)
    case = services.case_consumer_add_info(case=case, text="质检报告见附件。")
    case.refresh_from_db()
    assert case.status == CaseStatus.ACCEPTED
    assert case.acceptance_due == date(2025, 11, 12)  # that clock had stopped already
    assert case.resolution_due == date(2025, 11, 24)  # 17 Nov + 18, 19, 20, 21, 24
    assert case.mediation_due == date(2026, 1, 13)  # 6 Jan + 7, 8, 9, 12, 13


def test_an_appraisal_stops_the_clocks_until_a_reviewer_resumes(scene, reviewer, time_machine):
    time_machine.move_to(at(date(2025, 9, 26)), tick=False)
    case = scene.file(received_at=at(date(2025, 9, 26), 9))
    case = services.case_accept(case=case, actor=reviewer)
    assert (case.resolution_due, case.mediation_due) == (date(2025, 10, 16), date(2025, 12, 4))

    # Sent for appraisal on Mon 29 Sep; the report comes back on Mon 13 Oct:
    # Sep 30, Oct 9, 10, 11, 13 = 5 working days (the holiday week does not count).
    time_machine.move_to(at(date(2025, 9, 29)), tick=False)
    case = services.case_start_appraisal(case=case, message="送检面料成分。", actor=reviewer)
    assert case.status == CaseStatus.AWAITING_APPRAISAL
    time_machine.move_to(at(date(2025, 10, 13)), tick=False)
    case = services.case_resume(case=case, actor=reviewer, message="鉴定报告已出。")
    case.refresh_from_db()
    assert case.status == CaseStatus.ACCEPTED
    assert case.resolution_due == date(2025, 10, 23)  # 16 Oct + 17, 20, 21, 22, 23
    assert case.mediation_due == date(2025, 12, 11)  # 4 Dec + 5, 8, 9, 10, 11
    assert case.acceptance_due == date(2025, 10, 13)
    assert case.events.get(kind="resumed").data == {"paused_working_days": 5}


def test_a_pause_spanning_only_days_off_moves_nothing(scene, reviewer, time_machine):
    # Asked on Tue 30 Sep 2025, answered on Wed 8 Oct: every day between was a holiday.
    time_machine.move_to(at(date(2025, 9, 30)), tick=False)
    case = scene.file(received_at=at(date(2025, 9, 30), 9))
    due = (case.acceptance_due, case.resolution_due)
    case = services.case_request_info(case=case, message="请补充照片。", actor=reviewer)
    time_machine.move_to(at(date(2025, 10, 8)), tick=False)
    case = services.case_consumer_add_info(case=case, text="照片见附件。")
    case.refresh_from_db()
    assert (case.acceptance_due, case.resolution_due) == due


def test_a_pause_counted_before_its_year_was_entered_is_counted_again_once_it_is(
    scene, reviewer, time_machine, django_capture_on_commit_callbacks
):
    from accounts.models import CalendarYear
    from accounts.workdays import DayEntry, calendar_year_add

    # 2027 is beyond the published calendar. Filed and accepted on Mon 1 Feb 2027; appraised
    # from Fri 5 Feb to Mon 15 Feb: 8-12 and 15 Feb counted as the plain weekdays they are (6).
    time_machine.move_to(at(date(2027, 2, 1)), tick=False)
    case = services.case_accept(
        case=scene.file(received_at=at(date(2027, 2, 1), 9)), actor=reviewer
    )
    time_machine.move_to(at(date(2027, 2, 5)), tick=False)
    services.case_start_appraisal(case=case, message="送检", actor=reviewer)
    time_machine.move_to(at(date(2027, 2, 15)), tick=False)
    case = services.case_resume(case=case, actor=reviewer)
    assert case.paused_days_after_acceptance == 6
    # The lead enters 2027 with (for the test) 8-12 Feb off for the Spring Festival.
    with django_capture_on_commit_callbacks(execute=True):
        calendar_year_add(
            calendar_year=CalendarYear(
                year=2027, notice_title="国务院办公厅关于2027年部分节假日安排的通知"
            ),
            days=[DayEntry(date(2027, 1, 1), "holiday", "元旦")]
            + [DayEntry(date(2027, 2, d), "holiday", "春节") for d in range(8, 13)],
            actor=Actor.for_user(scene.lead),
        )

    services.refresh_deadlines(actor=Actor.system("tests"))

    case.refresh_from_db()
    # Only Mon 15 Feb was a working day of the pause. Feb 2, 3, 4, 5, [8-12 off], 15, 16, 17,
    # 18, 19, 22 are the 10 of the resolution target; + 1 paused -> Tue 23 Feb.
    assert case.paused_days_after_acceptance == 1
    assert (case.resolution_due, case.deadline_estimated) == (date(2027, 2, 23), False)
    assert case.acceptance_due == date(2027, 2, 17)  # 2, 3, 4, 5, 15, 16, 17


def test_a_pause_counted_on_days_beyond_the_calendar_leaves_the_dues_an_estimate(
    scene, reviewer, time_machine
):
    # Accepted on Mon 3 Aug 2026: every due date falls in 2026, inside the published calendar.
    time_machine.move_to(at(date(2026, 8, 3)), tick=False)
    case = services.case_accept(
        case=scene.file(received_at=at(date(2026, 8, 3), 9)), actor=reviewer
    )
    assert case.deadline_estimated is False
    # Long overdue, it is appraised from Wed 30 Dec 2026 to Tue 5 Jan 2027: Dec 31, then Jan 1
    # (unknown, counted as the Friday it is), 4 and 5. The dues stay in 2026, but they were moved
    # by a count that is an estimate.
    time_machine.move_to(at(date(2026, 12, 30)), tick=False)
    services.case_start_appraisal(case=case, message="送检", actor=reviewer)
    time_machine.move_to(at(date(2027, 1, 5)), tick=False)
    case = services.case_resume(case=case, actor=reviewer)

    assert case.paused_days_after_acceptance == 4
    assert case.mediation_due.year == 2026
    assert case.deadline_estimated is True


# --- Overdue ---------------------------------------------------------------------------------


def test_overdue_cases_are_those_past_their_running_clock(scene, reviewer, time_machine):
    time_machine.move_to(at(date(2025, 11, 3)), tick=False)
    new = scene.file(received_at=at(date(2025, 11, 3), 9), order_number="A-1")  # acc. 12 Nov
    accepted = services.case_accept(
        case=scene.file(received_at=at(date(2025, 11, 3), 9), order_number="A-2"), actor=reviewer
    )  # resolution 17 Nov
    waiting = services.case_request_info(
        case=scene.file(received_at=at(date(2025, 11, 3), 9), order_number="A-3"),
        message="请补充订单截图。",
        actor=reviewer,
    )
    appraised = services.case_start_appraisal(
        case=services.case_accept(
            case=scene.file(received_at=at(date(2025, 11, 3), 9), order_number="A-4"),
            actor=reviewer,
        ),
        message="送检。",
        actor=reviewer,
    )

    def overdue_on(day):
        return set(services.overdue_cases(day).values_list("pk", flat=True))

    assert overdue_on(date(2025, 11, 12)) == set()  # due today is not overdue
    assert overdue_on(date(2025, 11, 13)) == {new.pk}
    # The accepted case is only overdue once its resolution date has passed; the paused ones
    # never are, however late it gets.
    assert overdue_on(date(2025, 11, 18)) == {new.pk, accepted.pk}
    assert overdue_on(date(2026, 6, 1)) == {new.pk, accepted.pk}
    assert waiting.pk not in overdue_on(date(2026, 6, 1))
    assert appraised.pk not in overdue_on(date(2026, 6, 1))
