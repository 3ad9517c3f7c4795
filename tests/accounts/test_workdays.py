"""The working-day calendar: deadline arithmetic on the seeded years, staff entering a new year
(model, service and the admin's bulk form), validation, the cache, and the seed migration."""

from datetime import date, datetime, timedelta
from importlib import import_module

import chinese_calendar
import pytest
from django.apps import apps as django_apps
from django.contrib.admin.models import ADDITION, LogEntry
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation

from accounts import workdays
from accounts.actors import Actor
from accounts.admin_calendar import parse_days
from accounts.models import CalendarDay, CalendarDayKind, CalendarYear
from accounts.workdays import (
    DayEntry,
    Deadline,
    add_working_days,
    calendar_year_add,
    is_working_day,
    working_days_between,
)
from tests.accounts.test_roles import verified_client
from tests.factories import UserFactory

seed_migration = import_module("accounts.migrations.0004_seed_calendar")

pytestmark = pytest.mark.django_db

HOLIDAY, WORKDAY = CalendarDayKind.HOLIDAY, CalendarDayKind.WORKDAY
LAST_SEEDED = date(2026, 12, 31)

# Test data shaped like a State Council notice -- NOT the real 2027 schedule.
NOTICE_2027 = """
# 元旦
2027-01-01..2027-01-03 元旦 holiday
# 春节: a Sunday before and a Saturday after are worked
2027-02-05..2027-02-12 春节 休
2027-01-31 春节 班
2027-02-20 春节 workday
2027-10-01..2027-10-07 国庆节 holiday
2027-09-26 国庆节 workday
2027-10-09 国庆节 workday
"""


@pytest.fixture(autouse=True)
def empty_process_cache(db):
    """Each test starts as a fresh process would: no snapshot, not inside a calendar write."""
    workdays._snapshot = None
    workdays._thread.writing = False
    yield
    workdays._snapshot = None
    workdays._thread.writing = False


@pytest.fixture
def english(client, settings):
    """Messages in English, in this test and in the admin pages it requests."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield


def enter_2027(**overrides) -> CalendarYear:
    fields = {
        "year": 2027,
        "notice_title": "国务院办公厅关于2027年部分节假日安排的通知",
        "notice_reference": "国办发明电〔2026〕99号",
        "published_on": date(2026, 11, 20),
        **overrides,
    }
    return CalendarYear(**fields)


def lead_actor() -> Actor:
    return Actor.for_user(UserFactory(roles=["compliance_lead"]))


# --- Arithmetic on the seeded years ---------------------------------------------------------


def test_seeded_calendar_answers_as_chinesecalendar_did_for_every_day():
    calendar = workdays.working_calendar()
    day = date(2003, 1, 1)
    while day <= date(2027, 12, 31):
        try:
            expected = (chinese_calendar.is_workday(day), True)
        except NotImplementedError:
            expected = (day.weekday() < 5, False)
        assert calendar.is_working_day(day) == expected, day
        day += timedelta(days=1)


@pytest.mark.parametrize(
    ("start", "due", "on_weekdays_only"),
    [
        # 2024 National Day: 1-7 October off; Sunday 29 September and Saturday 12 October worked.
        # Fri 27 Sep -> Sun 29, Mon 30, Tue 8 Oct ... Fri 11, and the 7th is Saturday 12 October.
        pytest.param(date(2024, 9, 27), date(2024, 10, 12), date(2024, 10, 8), id="national-2024"),
        # 2025 National Day and Mid-Autumn: 1-8 October off (the seeded data, as the 2025 notice
        # has it); Sunday 28 September and Saturday 11 October worked.
        # Thu 25 Sep -> Fri 26, Sun 28, Mon 29, Tue 30, Thu 9 Oct, Fri 10, Sat 11.
        pytest.param(date(2025, 9, 25), date(2025, 10, 11), date(2025, 10, 6), id="national-2025"),
        # 2025 Spring Festival: 28 January - 4 February off; Sunday 26 January and Saturday
        # 8 February worked. Fri 24 Jan -> Sun 26, Mon 27, Wed 5 Feb, Thu 6, Fri 7, Sat 8, Mon 10.
        pytest.param(date(2025, 1, 24), date(2025, 2, 10), date(2025, 2, 4), id="spring-2025"),
    ],
)
def test_seven_working_days_skip_the_holiday_and_count_the_adjusted_weekend_days(
    start, due, on_weekdays_only
):
    assert add_working_days(start, 7) == Deadline(due=due, estimated=False)
    # What a plain Monday-Friday count would have said.
    assert workdays.WorkingCalendar(frozenset(), {}).add_working_days(start, 7).due == (
        on_weekdays_only
    )


def test_holidays_and_adjusted_days_as_published():
    assert is_working_day(date(2024, 10, 1)) == (False, True)  # Tuesday, National Day
    assert is_working_day(date(2024, 10, 12)) == (True, True)  # Saturday, worked
    assert is_working_day(date(2025, 1, 26)) == (True, True)  # Sunday, worked
    assert is_working_day(date(2025, 2, 8)) == (True, True)  # Saturday, worked
    assert is_working_day(date(2025, 2, 9)) == (False, True)  # an ordinary Sunday
    assert is_working_day(date(2025, 10, 8)) == (False, True)  # Wednesday, the 8th day off
    assert CalendarDay.objects.get(date=date(2025, 1, 28)).name == "春节"
    assert CalendarDay.objects.get(date=date(2024, 10, 12)).name == "国庆节"


def test_zero_days_is_the_start_day_and_negative_or_datetime_input_is_refused():
    assert add_working_days(date(2025, 10, 1), 0) == Deadline(date(2025, 10, 1), False)
    assert add_working_days(date(2030, 1, 1), 0) == Deadline(date(2030, 1, 1), False)
    with pytest.raises(ValueError):
        add_working_days(date(2025, 10, 1), -1)
    # A datetime would never equal a holiday's date: refused rather than silently wrong.
    with pytest.raises(TypeError):
        add_working_days(datetime(2025, 9, 30, 10, 0), 7)
    with pytest.raises(TypeError):
        is_working_day(datetime(2025, 10, 1, 10, 0))


def test_a_deadline_past_the_last_known_year_is_counted_on_weekdays_and_flagged():
    # Inside 2026 the answer is known ...
    assert add_working_days(date(2026, 12, 24), 5) == Deadline(LAST_SEEDED, estimated=False)
    # ... past it, Friday 1 January 2027 counts as an ordinary Friday, and the result is flagged.
    assert add_working_days(date(2026, 12, 24), 7) == Deadline(date(2027, 1, 4), estimated=True)
    assert is_working_day(date(2027, 1, 1)) == (True, False)
    # Never an error, however far out.
    assert add_working_days(date(2040, 2, 1), 45).estimated is True


# --- Staff extend the calendar --------------------------------------------------------------


def test_entering_next_year_through_the_models_turns_the_estimate_into_a_known_deadline(
    django_capture_on_commit_callbacks,
):
    assert add_working_days(date(2026, 12, 24), 7) == Deadline(date(2027, 1, 4), True)

    with django_capture_on_commit_callbacks(execute=True):
        year = CalendarYear.objects.create(year=2027, notice_title="2027年部分节假日安排")
        for day in (1, 2, 3):
            CalendarDay.objects.create(
                year=year, date=date(2027, 1, day), kind=HOLIDAY, name="元旦"
            )

    # New Year's Day is now a day off: Mon 28, Tue 29, Wed 30, Thu 31, Fri 25 ... Mon 4, Tue 5.
    assert add_working_days(date(2026, 12, 24), 7) == Deadline(date(2027, 1, 5), False)
    assert is_working_day(date(2027, 1, 1)) == (False, True)
    assert is_working_day(date(2027, 6, 1)) == (True, True)


def test_a_lead_enters_a_year_with_its_days_through_the_service(django_capture_on_commit_callbacks):
    lead = lead_actor()
    entries, errors = parse_days(NOTICE_2027, year=2027)
    assert errors == []

    with django_capture_on_commit_callbacks(execute=True):
        year = calendar_year_add(calendar_year=enter_2027(), days=entries, actor=lead)

    assert year.entered_by == lead.user
    assert year.days.filter(kind=HOLIDAY).count() == 3 + 8 + 7
    assert list(year.days.filter(kind=WORKDAY).values_list("date", flat=True)) == [
        date(2027, 1, 31),
        date(2027, 2, 20),
        date(2027, 9, 26),
        date(2027, 10, 9),
    ]
    # Thu 30 Sep 2027 + 7: Fri 1-Thu 7 Oct off; Fri 8, Sat 9 (worked), Mon 11 ... Fri 15.
    assert add_working_days(date(2027, 9, 30), 7) == Deadline(date(2027, 10, 15), False)


def test_only_a_lead_may_enter_a_year_and_a_bad_day_stores_nothing(english):
    reviewer = Actor.for_user(UserFactory(roles=["compliance_reviewer"]))
    entry = DayEntry(date(2027, 1, 1), HOLIDAY, "元旦")
    with pytest.raises(PermissionDenied):
        calendar_year_add(calendar_year=enter_2027(), days=[entry], actor=reviewer)

    monday = DayEntry(date(2027, 1, 4), WORKDAY, "元旦")
    with pytest.raises(ValidationError) as excinfo:
        calendar_year_add(calendar_year=enter_2027(), days=[entry, monday], actor=lead_actor())
    assert "2027-01-04" in str(excinfo.value)
    assert not CalendarYear.objects.filter(year=2027).exists()
    assert not CalendarDay.objects.filter(date__year=2027).exists()


# --- Validation -----------------------------------------------------------------------------


def test_an_adjusted_working_day_must_be_a_saturday_or_sunday():
    year = CalendarYear.objects.create(year=2027, notice_title="t")
    CalendarDay(year=year, date=date(2027, 9, 26), kind=WORKDAY, name="国庆节").full_clean()
    with pytest.raises(ValidationError) as excinfo:
        CalendarDay(year=year, date=date(2027, 9, 27), kind=WORKDAY, name="国庆节").full_clean()
    assert set(excinfo.value.message_dict) == {"kind"}
    # The database refuses it too, for writes that skip validation.
    with pytest.raises(IntegrityError), transaction.atomic():
        CalendarDay.objects.create(year=year, date=date(2027, 9, 27), kind=WORKDAY, name="x")


def test_a_holiday_may_fall_on_any_day_of_its_own_year_only():
    year = CalendarYear.objects.create(year=2027, notice_title="t")
    CalendarDay(year=year, date=date(2027, 10, 1), kind=HOLIDAY, name="国庆节").full_clean()
    CalendarDay(year=year, date=date(2027, 10, 2), kind=HOLIDAY, name="国庆节").full_clean()
    with pytest.raises(ValidationError) as excinfo:
        CalendarDay(year=year, date=date(2028, 1, 1), kind=HOLIDAY, name="元旦").full_clean()
    assert set(excinfo.value.message_dict) == {"date"}


def test_the_bulk_format_reads_ranges_aliases_comments_and_spaces_in_names():
    text = "\n".join(
        [
            "  # a comment",
            "",
            "2027-10-01..2027-10-03 国庆节 holiday",
            "2027-09-26\u3000国庆节\u3000班",  # pasted with ideographic spaces
            "2027-05-01 Labour Day HOLIDAY",
        ]
    )
    entries, errors = parse_days(text, year=2027)
    assert errors == []
    assert entries == [
        DayEntry(date(2027, 10, 1), HOLIDAY, "国庆节"),
        DayEntry(date(2027, 10, 2), HOLIDAY, "国庆节"),
        DayEntry(date(2027, 10, 3), HOLIDAY, "国庆节"),
        DayEntry(date(2027, 9, 26), WORKDAY, "国庆节"),
        DayEntry(date(2027, 5, 1), HOLIDAY, "Labour Day"),
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("2027-10-01 holiday", "should read DATE NAME KIND"),
        ("2027-02-30 春节 holiday", "is not a date in the form YYYY-MM-DD"),
        ("2027/10/01 国庆节 holiday", "is not a date in the form YYYY-MM-DD"),
        ("2027-10-01 国庆节 vacation", "the kind “vacation” is neither holiday"),
        ("2027-10-07..2027-10-01 国庆节 holiday", "ends before it starts"),
        ("2027-01-01..2027-03-01 春节 holiday", "spans 60 days"),
        ("2026-12-31 元旦 holiday", "2026-12-31 is not in 2027"),
        ("2027-09-27 国庆节 workday", "2027-09-27 is a Monday"),
        (f"2027-10-01 {'国庆' * 51} holiday", "longer than 100 characters"),
    ],
)
def test_a_bad_line_is_named_with_its_problem(english, line, message):
    _entries, errors = parse_days(f"2027-01-01 元旦 holiday\n{line}", year=2027)
    assert len(errors) == 1
    assert errors[0].startswith("Line 2: ")
    assert message in errors[0]


def test_a_date_entered_twice_names_the_first_line(english):
    text = "2027-10-01..2027-10-07 国庆节 holiday\n2027-10-07 国庆节 holiday"
    assert parse_days(text, year=2027)[1] == ["Line 2: 2027-10-07 is already on line 1."]
    assert parse_days("# nothing\n", year=2027)[1] == ["Enter at least one day."]


# --- The admin ------------------------------------------------------------------------------


def add_form(days: str, **overrides) -> dict:
    return {
        "year": "2027",
        "notice_title": "国务院办公厅关于2027年部分节假日安排的通知",
        "notice_reference": "国办发明电〔2026〕99号",
        "published_on": "2026-11-20",
        "days": days,
        "_save": "Save",
        **overrides,
    }


def test_a_lead_enters_next_year_with_the_bulk_form(client, django_capture_on_commit_callbacks):
    lead = UserFactory(roles=["compliance_lead"])
    verified_client(client, lead)
    assert add_working_days(date(2026, 12, 24), 7).estimated is True

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/accounts/calendaryear/add/", add_form(NOTICE_2027))

    assert response.status_code == 302, response.context["adminform"].form.errors
    year = CalendarYear.objects.get(year=2027)
    assert (year.entered_by, year.notice_reference) == (lead, "国办发明电〔2026〕99号")
    assert year.days.count() == 3 + 8 + 7 + 4
    entry = LogEntry.objects.get(object_id=str(year.pk), action_flag=ADDITION)
    assert entry.user == lead
    assert "2027-10-09 国庆节" in entry.get_change_message()
    # The estimate is now a known date, with New Year's Day off.
    assert add_working_days(date(2026, 12, 24), 7) == Deadline(date(2027, 1, 5), False)
    # The year's page lists its days for correction.
    page = client.get(f"/admin/accounts/calendaryear/{year.pk}/change/")
    assert page.status_code == 200
    assert "2027-09-26" in page.content.decode()


def test_invalid_bulk_lines_are_each_reported_and_nothing_is_stored(client, english):
    verified_client(client, UserFactory(roles=["compliance_lead"]))
    days_before = CalendarDay.objects.count()
    pasted = "\n".join(
        [
            "2027-01-01..2027-01-03 元旦 holiday",
            "2027-01-04 元旦 workday",
            "2026-12-31 元旦 holiday",
            "2027-10-01 国庆节 vacation",
            "2027-10-01 国庆节 holiday",
        ]
    )

    response = client.post("/admin/accounts/calendaryear/add/", add_form(pasted))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["days"]
    assert [e.split(":")[0] for e in errors] == ["Line 2", "Line 3", "Line 4", "Line 5"]
    assert "2027-01-04 is a Monday" in errors[0]
    assert "2026-12-31 is not in 2027" in errors[1]
    assert "vacation" in errors[2]
    assert "2027-10-01 is already on line 4" in errors[3]
    assert "Line 2" in response.content.decode()
    assert not CalendarYear.objects.filter(year=2027).exists()
    assert CalendarDay.objects.count() == days_before


def test_the_bulk_form_needs_the_notice_reference_and_date(client):
    verified_client(client, UserFactory(roles=["compliance_lead"]))
    data = add_form("2027-01-01 元旦 holiday", notice_reference="", published_on="")
    response = client.post("/admin/accounts/calendaryear/add/", data)
    assert response.status_code == 200
    assert set(response.context["adminform"].form.errors) == {"notice_reference", "published_on"}
    assert not CalendarYear.objects.filter(year=2027).exists()


def test_a_lead_corrects_a_day_in_the_inline_and_deadlines_follow(
    client, django_capture_on_commit_callbacks
):
    lead = UserFactory(roles=["compliance_lead"])
    verified_client(client, lead)
    year = CalendarYear.objects.create(year=2027, notice_title="t", entered_by=lead)
    day = CalendarDay.objects.create(year=year, date=date(2027, 1, 1), kind=HOLIDAY, name="元旦")
    assert add_working_days(date(2026, 12, 31), 1) == Deadline(date(2027, 1, 4), False)

    data = {
        "notice_title": "t",
        "notice_reference": "",
        "published_on": "",
        "days-TOTAL_FORMS": "2",
        "days-INITIAL_FORMS": "1",
        "days-0-id": str(day.pk),
        "days-0-year": str(year.pk),
        "days-0-date": "2027-01-01",
        "days-0-kind": "holiday",
        "days-0-name": "元旦",
        "days-1-year": str(year.pk),
        "days-1-date": "2027-01-04",
        "days-1-kind": "holiday",
        "days-1-name": "元旦",
        "_save": "Save",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/accounts/calendaryear/{year.pk}/change/", data)

    assert response.status_code == 302
    assert add_working_days(date(2026, 12, 31), 1) == Deadline(date(2027, 1, 5), False)
    assert "2027-01-04" in LogEntry.objects.get(object_id=str(year.pk)).get_change_message()


@pytest.mark.parametrize(
    ("role", "changelist", "add", "delete_year"),
    [
        ("compliance_reviewer", 200, 403, 403),
        ("auditor", 200, 403, 403),
        ("compliance_lead", 200, 200, 403),
        ("authority_liaison", 403, 403, 403),
    ],
)
def test_who_may_see_and_enter_the_calendar(client, role, changelist, add, delete_year):
    verified_client(client, UserFactory(roles=[role]))
    year = CalendarYear.objects.get(year=2025)
    assert client.get("/admin/accounts/calendaryear/").status_code == changelist
    assert client.get("/admin/accounts/calendaryear/add/").status_code == add
    assert client.get(f"/admin/accounts/calendaryear/{year.pk}/delete/").status_code == delete_year


def test_viewers_cannot_change_a_day_even_by_posting(client):
    verified_client(client, UserFactory(roles=["compliance_reviewer"]))
    year = CalendarYear.objects.get(year=2025)
    response = client.post(
        f"/admin/accounts/calendaryear/{year.pk}/change/", {"notice_title": "changed"}
    )
    assert response.status_code == 403
    assert CalendarYear.objects.get(year=2025).notice_title != "changed"


# --- The cache ------------------------------------------------------------------------------


def test_the_calendar_is_read_from_the_database_once_per_process(django_assert_num_queries):
    with django_assert_num_queries(2):  # the years, the days
        add_working_days(date(2025, 9, 25), 7)
    with django_assert_num_queries(0):
        add_working_days(date(2024, 9, 27), 7)
        working_days_between(date(2024, 1, 1), date(2024, 12, 31))


def test_a_change_committed_by_another_process_is_seen_once_the_version_moves():
    assert is_working_day(date(2027, 1, 1)) == (True, False)
    # Another process enters 2027: no signal reaches this one ...
    year = CalendarYear.objects.bulk_create([CalendarYear(year=2027, notice_title="t")])[0]
    CalendarDay.objects.bulk_create(
        [CalendarDay(year=year, date=date(2027, 1, 1), kind=HOLIDAY, name="元旦")]
    )
    assert is_working_day(date(2027, 1, 1)) == (True, False)  # still the snapshot
    # ... until its commit moves the shared version.
    cache.set(workdays.VERSION_KEY, "moved-by-another-process")
    assert is_working_day(date(2027, 1, 1)) == (False, True)


def test_a_lost_version_key_or_an_old_snapshot_reloads(monkeypatch):
    assert is_working_day(date(2027, 1, 1)) == (True, False)
    year = CalendarYear.objects.bulk_create([CalendarYear(year=2027, notice_title="t")])[0]
    CalendarDay.objects.bulk_create(
        [CalendarDay(year=year, date=date(2027, 1, 1), kind=HOLIDAY, name="元旦")]
    )
    cache.delete(workdays.VERSION_KEY)  # evicted, or the cache restarted
    assert is_working_day(date(2027, 1, 1)) == (False, True)

    # Another process moves the holiday, and the cache is not shared, so no version moves: the
    # snapshot answers until it is MAX_AGE_SECONDS old, then it is reloaded.
    CalendarDay.objects.filter(date=date(2027, 1, 1)).update(date=date(2027, 1, 2))
    assert is_working_day(date(2027, 1, 1)) == (False, True)
    now = workdays._clock()
    monkeypatch.setattr(workdays, "_clock", lambda: now + workdays.MAX_AGE_SECONDS + 1)
    assert is_working_day(date(2027, 1, 1)) == (True, True)


def test_a_change_rolled_back_leaves_nothing_in_the_cache():
    assert is_working_day(date(2027, 1, 1)) == (True, False)
    with pytest.raises(RuntimeError), transaction.atomic():
        year = CalendarYear.objects.create(year=2027, notice_title="t")
        CalendarDay.objects.create(year=year, date=date(2027, 1, 1), kind=HOLIDAY, name="元旦")
        # The writing transaction sees its own rows.
        assert is_working_day(date(2027, 1, 1)) == (False, True)
        raise RuntimeError("rolled back")

    assert is_working_day(date(2027, 1, 1)) == (True, False)
    # As when the thread is out of the transaction: the snapshot never held the rolled-back rows.
    workdays._thread.writing = False
    assert is_working_day(date(2027, 1, 1)) == (True, False)


# --- working_days_between -------------------------------------------------------------------


def test_working_days_between_counts_after_the_start_up_to_and_including_the_end():
    assert working_days_between(date(2024, 9, 27), date(2024, 10, 12)) == 7
    assert working_days_between(date(2024, 9, 27), date(2024, 10, 11)) == 6
    assert working_days_between(date(2024, 9, 30), date(2024, 10, 7)) == 0  # the holiday
    assert working_days_between(date(2025, 1, 24), date(2025, 1, 24)) == 0
    # Past the known years, Monday to Friday.
    assert working_days_between(LAST_SEEDED, date(2027, 1, 8)) == 6
    with pytest.raises(ValueError):
        working_days_between(date(2025, 1, 24), date(2025, 1, 23))


def test_working_days_between_undoes_add_working_days():
    calendar = workdays.working_calendar()
    for start in (date(2024, 9, 20), date(2025, 1, 20), date(2025, 9, 24), date(2026, 12, 1)):
        for n in range(0, 50):
            due = calendar.add_working_days(start, n).due
            assert calendar.working_days_between(start, due) == n, (start, n)


def test_a_paused_clock_resumes_with_the_working_days_it_had_left():
    # A 7-working-day clock from Thu 25 Sep 2025, paused at the end of Tue 30 Sep (26, 28, 29,
    # 30 used) and resumed on Thu 9 Oct after the holiday: 3 left, counted after the 9th.
    used = working_days_between(date(2025, 9, 25), date(2025, 9, 30))
    assert used == 4
    assert add_working_days(date(2025, 10, 9), 7 - used) == Deadline(date(2025, 10, 13), False)


# --- The seed migration ---------------------------------------------------------------------


def test_the_seed_migration_is_reversible_and_spares_years_entered_by_staff():
    lead = UserFactory(roles=["compliance_lead"])
    CalendarYear.objects.create(year=2027, notice_title="t", entered_by=lead)
    seeded_days = CalendarDay.objects.count()
    assert set(CalendarYear.objects.values_list("year", flat=True)) == {*range(2004, 2028)}

    seed_migration.unseed(django_apps, None)
    assert list(CalendarYear.objects.values_list("year", flat=True)) == [2027]
    assert CalendarDay.objects.count() == 0

    seed_migration.seed(django_apps, None)
    assert CalendarYear.objects.count() == 24
    assert CalendarDay.objects.count() == seeded_days
