"""The working-day calendar in the admin: one page per published year, its days inline.

A new year is entered on one page: the notice's details and its days pasted as lines, in the
format `parse_days` reads (also the help text under the field):

    DATE NAME KIND            one day
    DATE..DATE NAME KIND      a range, both ends included

    DATE  YYYY-MM-DD, in the year being entered
    NAME  the holiday as the notice names it (春节, 国庆节); for a worked weekend day, the
          holiday it makes up for. May contain spaces.
    KIND  the last word: `holiday` or 休 for a day off; `workday` or 班 for a Saturday or
          Sunday that is worked (调休)

Blank lines and lines starting with `#` are skipped. For example, a notice's
"10月1日至7日放假调休，共7天。9月26日（周日）、10月9日（周六）上班" becomes

    2027-10-01..2027-10-07 国庆节 holiday
    2027-09-26 国庆节 workday
    2027-10-09 国庆节 workday

Every line is checked before anything is stored, and each error names its line. Once saved,
days are corrected one by one in the inline; LogEntry records who changed what.
"""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.contrib import admin
from django.db.models import Count, Q
from django.utils.dates import WEEKDAYS
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.actors import Actor
from accounts.models import CalendarDay, CalendarDayKind, CalendarYear
from accounts.workdays import DayEntry, calendar_year_add

KIND_WORDS = {
    "holiday": CalendarDayKind.HOLIDAY,
    "休": CalendarDayKind.HOLIDAY,
    "workday": CalendarDayKind.WORKDAY,
    "班": CalendarDayKind.WORKDAY,
}
# The longest holiday block so far is 10 days (Spring Festival 2020, extended); a longer range
# is a typing error in one of its dates.
MAX_RANGE_DAYS = 15
NAME_MAX_LENGTH = CalendarDay._meta.get_field("name").max_length


def parse_days(text: str, *, year: int | None) -> tuple[list[DayEntry], list[str]]:
    """The days in `text` (format in the module docstring) and one message per bad line.

    `year=None` (the year field itself is invalid) skips the "date in year" check only.
    """
    entries: list[DayEntry] = []
    errors: list[str] = []
    first_line: dict[date, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        # str.split() also splits on the ideographic space (U+3000) of pasted Chinese text.
        words = line.split()
        problems: list[str] = []
        if len(words) < 3:
            errors.append(
                gettext("Line %(n)d: “%(line)s” should read DATE NAME KIND.")
                % {"n": number, "line": line}
            )
            continue
        dates, name, kind_word = words[0], " ".join(words[1:-1]), words[-1]
        kind = KIND_WORDS.get(kind_word.lower())
        if kind is None:
            problems.append(
                gettext("the kind “%(kind)s” is neither holiday (休) nor workday (班)")
                % {"kind": kind_word}
            )
        if len(name) > NAME_MAX_LENGTH:
            problems.append(
                gettext("the name is longer than %(max)d characters") % {"max": NAME_MAX_LENGTH}
            )
        days = _parse_dates(dates, problems)
        for day in days:
            if year is not None and day.year != year:
                problems.append(
                    gettext(
                        "%(date)s is not in %(year)d; a day belongs to the calendar of its "
                        "own year (enter it on the %(date_year)d page)"
                    )
                    % {"date": day, "year": year, "date_year": day.year}
                )
            if kind == CalendarDayKind.WORKDAY and day.isoweekday() < 6:
                problems.append(
                    gettext(
                        "%(date)s is a %(weekday)s; an adjusted working day is a Saturday or Sunday"
                    )
                    % {"date": day, "weekday": WEEKDAYS[day.weekday()]}
                )
            if day in first_line:
                problems.append(
                    gettext("%(date)s is already on line %(other)d")
                    % {"date": day, "other": first_line[day]}
                )
            else:
                first_line[day] = number
        if problems:
            errors.append(
                gettext("Line %(n)d: %(problems)s.")
                % {"n": number, "problems": "; ".join(problems)}
            )
            continue
        entries.extend(DayEntry(date=day, kind=kind, name=name) for day in days)
    if not entries and not errors:
        errors.append(gettext("Enter at least one day."))
    return entries, errors


def _parse_dates(text: str, problems: list[str]) -> list[date]:
    """`YYYY-MM-DD` or `YYYY-MM-DD..YYYY-MM-DD` -> the days, or [] with a problem noted."""
    parts = text.split("..")
    if len(parts) > 2:
        problems.append(gettext("“%(dates)s” is not a date or a range") % {"dates": text})
        return []
    try:
        first, last = date.fromisoformat(parts[0]), date.fromisoformat(parts[-1])
    except ValueError:
        problems.append(
            gettext("“%(dates)s” is not a date in the form YYYY-MM-DD or a range of two")
            % {"dates": text}
        )
        return []
    if last < first:
        problems.append(gettext("the range %(dates)s ends before it starts") % {"dates": text})
        return []
    length = (last - first).days + 1
    if length > MAX_RANGE_DAYS:
        problems.append(
            gettext("the range %(dates)s spans %(length)d days, more than any holiday (%(max)d)")
            % {"dates": text, "length": length, "max": MAX_RANGE_DAYS}
        )
        return []
    return [first + timedelta(days=offset) for offset in range(length)]


class CalendarYearAddForm(forms.ModelForm):
    days = forms.CharField(
        label=_("days"),
        widget=forms.Textarea(
            attrs={
                "rows": 18,
                "cols": 70,
                "spellcheck": "false",
                "placeholder": "2027-10-01..2027-10-07 国庆节 holiday\n2027-09-26 国庆节 workday",
            }
        ),
    )

    class Meta:
        model = CalendarYear
        fields = ["year", "notice_title", "notice_reference", "published_on", "days"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Blank only on the seeded years; a year entered by hand cites its notice.
        self.fields["notice_reference"].required = True
        self.fields["published_on"].required = True
        # Built here, not at import, so that it is translated into the request's language.
        self.fields["days"].help_text = format_html(
            "{}<br>{}<br>{}<br>{}",
            gettext(
                "One line per day or range: DATE NAME KIND. DATE is YYYY-MM-DD, or "
                "YYYY-MM-DD..YYYY-MM-DD for a range with both ends included; every date must "
                "be in the year above."
            ),
            gettext(
                "NAME is the holiday as the notice names it (春节, 国庆节); for a worked "
                "weekend day, the holiday it makes up for."
            ),
            gettext(
                "KIND is holiday (or 休) for a day off, workday (or 班) for a Saturday or "
                "Sunday that is worked. Blank lines and lines starting with # are skipped."
            ),
            gettext(
                "A day the notice moves into the previous year (a 31 December) is added on "
                "that year's page. Nothing is saved until every line is right."
            ),
        )

    def clean(self):
        cleaned = super().clean()
        if "days" in cleaned:
            entries, errors = parse_days(cleaned["days"], year=cleaned.get("year"))
            if errors:
                self.add_error("days", errors)
            else:
                cleaned["day_entries"] = entries
        return cleaned


class CalendarDayInline(admin.TabularInline):
    model = CalendarDay
    fields = ["date", "weekday", "kind", "name"]
    readonly_fields = ["weekday"]
    ordering = ["date"]
    extra = 0

    @admin.display(description=_("weekday"))
    def weekday(self, obj):
        return WEEKDAYS[obj.date.weekday()] if obj.date else ""


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    list_display = [
        "year",
        "notice_title",
        "notice_reference",
        "published_on",
        "holiday_count",
        "workday_count",
        "entered_by",
        "created_at",
    ]
    list_select_related = ["entered_by"]
    ordering = ["-year"]
    search_fields = ["=year", "notice_title", "notice_reference"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                holiday_count=Count("days", filter=Q(days__kind=CalendarDayKind.HOLIDAY)),
                workday_count=Count("days", filter=Q(days__kind=CalendarDayKind.WORKDAY)),
            )
        )

    @admin.display(description=_("holidays"), ordering="holiday_count")
    def holiday_count(self, obj):
        return obj.holiday_count

    @admin.display(description=_("adjusted working days"), ordering="workday_count")
    def workday_count(self, obj):
        return obj.workday_count

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = CalendarYearAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["year", "notice_title", "notice_reference", "published_on", "days"]
        return [
            "year",
            "notice_title",
            "notice_reference",
            "published_on",
            "entered_by",
            "created_at",
        ]

    def get_readonly_fields(self, request, obj=None):
        # The year of a saved calendar is fixed: its days are checked against it.
        return ["year", "entered_by", "created_at"] if obj is not None else []

    def get_inlines(self, request, obj):
        # The add page takes the days as pasted lines; the change page edits them one by one.
        return [CalendarDayInline] if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        calendar_year_add(
            calendar_year=obj,
            days=form.cleaned_data["day_entries"],
            actor=Actor.for_user(request.user),
        )

    def construct_change_message(self, request, form, formsets, add=False):
        message = super().construct_change_message(request, form, formsets, add)
        if add:
            # The pasted days are not a formset; name each in the LogEntry like an inline would.
            name = str(CalendarDay._meta.verbose_name)
            message.extend(
                {"added": {"name": name, "object": str(day)}}
                for day in form.instance.days.order_by("date")
            )
        return message
