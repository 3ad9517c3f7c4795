"""Seed the working-day calendar with every year the chinesecalendar package knows, 2004-2026.

Before this migration `accounts.workdays` asked the package directly; with these rows it answers
exactly as before (tests/accounts/test_workdays.py compares every day). Later years are entered
by staff in the admin. The years are fixed here rather than read from the package, so that a
newer package release cannot make a fresh database differ from one migrated earlier.

The package names holidays in English; the rows take the Chinese name it carries beside each.
Every day goes into the calendar of its own year (a 31 December moved by the next year's
notice included), as `CalendarDay.clean` requires.
"""

from django.db import migrations

SEEDED_YEARS = range(2004, 2027)
NOTICE_TITLE = "国务院办公厅关于{year}年部分节假日安排的通知"


def seed(apps, schema_editor):
    # Imported here, not at the top: only this migration needs the package.
    from chinese_calendar.constants import Holiday, holidays, workdays

    missing = set(SEEDED_YEARS) - {day.year for day in holidays}
    if missing:
        # An older release would leave these years "known" with no holidays at all.
        raise RuntimeError(
            f"chinesecalendar has no data for {sorted(missing)}: install chinesecalendar>=1.11"
        )
    CalendarYear = apps.get_model("accounts", "CalendarYear")
    CalendarDay = apps.get_model("accounts", "CalendarDay")
    CalendarYear.objects.bulk_create(
        CalendarYear(year=year, notice_title=NOTICE_TITLE.format(year=year))
        for year in SEEDED_YEARS
    )
    year_ids = dict(CalendarYear.objects.filter(year__in=SEEDED_YEARS).values_list("year", "id"))
    days = [
        CalendarDay(year_id=year_ids[day.year], date=day, kind=kind, name=Holiday(name).chinese)
        for kind, source in (("holiday", holidays), ("workday", workdays))
        for day, name in source.items()
        if day.year in year_ids
    ]
    CalendarDay.objects.bulk_create(days, batch_size=500)


def unseed(apps, schema_editor):
    CalendarYear = apps.get_model("accounts", "CalendarYear")
    # Their days go with them (on_delete=CASCADE); years entered by staff stay.
    CalendarYear.objects.filter(year__in=SEEDED_YEARS, entered_by__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_calendar"),
    ]

    operations = [
        migrations.RunPython(seed, unseed),
    ]
