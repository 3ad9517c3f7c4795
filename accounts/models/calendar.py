"""The working-day calendar: each year's State Council holiday schedule, as staff enter it.

Every autumn the General Office of the State Council publishes next year's schedule
(国务院办公厅关于YYYY年部分节假日安排的通知): which days are public holidays and which weekend
days are worked instead (调休). Legal deadlines counted in working days (RULES.md §4; LCM
Art. 15) read this calendar through `accounts.workdays`. A year is "known" exactly when it has a
`CalendarYear` row; past the known years deadlines are counted on weekdays and flagged.

Only the exceptions are stored: a weekday is a working day and a weekend day is not, unless a
`CalendarDay` says otherwise.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# ISO weekday numbers (Monday = 1) of the days an adjusted working day may fall on.
WEEKEND = (6, 7)


class CalendarDayKind(models.TextChoices):
    # Off, on a weekday or a weekend day alike (the weekend days inside a holiday block are
    # entered too, so that the block reads as the notice states it).
    HOLIDAY = "holiday", _("Public holiday (day off)")
    # 调休: a Saturday or Sunday worked in exchange for a day off nearby.
    WORKDAY = "workday", _("Adjusted working day (weekend day worked)")


class CalendarYear(models.Model):
    """One published year: its days are all the exceptions to the Monday-Friday week."""

    # The schedule system (with Golden Weeks) dates from 1999; 2100 catches a mistyped year.
    year = models.PositiveSmallIntegerField(
        _("year"), unique=True, validators=[MinValueValidator(1999), MaxValueValidator(2100)]
    )
    notice_title = models.CharField(
        _("notice title"),
        max_length=200,
        help_text=_("As published, e.g. 国务院办公厅关于2027年部分节假日安排的通知."),
    )
    notice_reference = models.CharField(
        _("notice reference"),
        max_length=64,
        blank=True,
        help_text=_("The document number, e.g. 国办发明电〔2026〕12号."),
    )
    # Empty only for the years seeded from the chinesecalendar package (migration 0004).
    published_on = models.DateField(_("published on"), null=True, blank=True)
    # Who entered the year; empty for the seeded years. Later edits are in the admin's LogEntry.
    entered_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("entered by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")
        ordering = ["-year"]

    def __str__(self) -> str:
        return str(self.year)


class CalendarDay(models.Model):
    """A day that breaks the Monday-Friday rule in a published year."""

    year = models.ForeignKey(
        CalendarYear, verbose_name=_("year"), on_delete=models.CASCADE, related_name="days"
    )
    # Unique: a date is one thing, and its own year's notice decides it (see `clean`).
    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=CalendarDayKind.choices)
    name = models.CharField(_("name"), max_length=100, help_text=_("e.g. 春节, 国庆节."))

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=CalendarDayKind.values), name="calendar_day_kind_valid"
            ),
            # A weekday is worked anyway: an "adjusted working day" on one is a typing error.
            models.CheckConstraint(
                condition=Q(kind=CalendarDayKind.HOLIDAY) | Q(date__iso_week_day__in=WEEKEND),
                name="calendar_day_workday_on_weekend",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name} ({self.get_kind_display()})"

    def clean(self) -> None:
        errors = {}
        try:
            year = self.year  # may be an unsaved year, entered together with its days
        except CalendarYear.DoesNotExist:
            year = None
        # A notice sometimes moves days at the end of the previous year (the 2023 notice made
        # 31 December 2022 a holiday). Such a day belongs to the calendar of its own year, so
        # that "is this date known" depends on that year's row alone.
        if self.date and year is not None and year.year and self.date.year != year.year:
            errors["date"] = _(
                "%(date)s is not in %(year)s: enter it in the %(date_year)s calendar."
            ) % {"date": self.date, "year": year.year, "date_year": self.date.year}
        if (
            self.date
            and self.kind == CalendarDayKind.WORKDAY
            and self.date.isoweekday() not in WEEKEND
        ):
            errors.setdefault("kind", []).append(
                _("%(date)s is a weekday; an adjusted working day is a Saturday or Sunday.")
                % {"date": self.date}
            )
        if errors:
            raise ValidationError(errors)


def _calendar_changed(sender, **kwargs) -> None:
    # Not a business rule: every process caches the calendar (accounts.workdays) and must drop
    # it when a row changes. Queryset updates and bulk writes send no signal; the services in
    # accounts.workdays invalidate explicitly after theirs.
    from accounts.workdays import calendar_changed

    calendar_changed()


for _model in (CalendarYear, CalendarDay):
    post_save.connect(_calendar_changed, sender=_model, dispatch_uid=f"{_model.__name__}.saved")
    post_delete.connect(_calendar_changed, sender=_model, dispatch_uid=f"{_model.__name__}.deleted")
