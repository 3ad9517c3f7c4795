"""The dashboard's figures for a period: one aggregate query each, grouped in the database.

Every figure is a `Figure`: categories along one axis (weeks, months, measure kinds, grades,
reviewers) and one or more series of numbers, with what the chart draws, what the table shows and
a note on how it was counted. The charts (`charts.py`), the admin pages, the CSV and the
transparency report all read the same object, so the numbers cannot drift between them.

Rules every function here keeps: one query, grouped by `TruncWeek`/`TruncMonth` in Asia/Shanghai
days; Python touches only the grouped rows (a few per bucket), never the underlying records, so
the cost of the page does not grow with the number of cases, measures or inspections.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Case as Conditional
from django.db.models import CharField, Count, Exists, F, OuterRef, Q, Value, When
from django.db.models.functions import Coalesce, TruncDate, TruncMonth, TruncWeek
from django.utils import timezone
from django.utils.functional import Promise, lazy
from django.utils.translation import gettext_lazy, pgettext_lazy

from accounts.models import Party, PartyKind
from complaints.models import Case, CaseKind, CaseStatus
from credit.scoring import rule_set_in_force
from enforcement.models import Appeal, AppealStatus, Measure, MeasureKind, MeasureStatus
from liverooms.models import Inspection, LiveSession, RiskGrade

# Weekly buckets up to a year; beyond that a chart of 100+ thin weekly bars says less than the
# same numbers by month, so long periods (the yearly transparency report) switch to months.
WEEKLY_UP_TO_DAYS = 366
# The reviewer chart lists this many by name and folds the rest into "others".
TOP_REVIEWERS = 20
DEFAULT_WEEKS = 12

Label = str | Promise


def _interpolate(text: Label, values: dict) -> str:
    return str(text) % values


# `gettext_lazy(...) % values` would translate at once, in whatever language is active; the
# figures are built before the page (or the worker) picks the reader's language.
interpolate_lazy = lazy(_interpolate, str)


# --- the period ----------------------------------------------------------------------------------


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _one_year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


@dataclass(frozen=True)
class Period:
    """Whole days in Asia/Shanghai, both ends included."""

    start: date
    end: date

    @classmethod
    def default(cls, today: date | None = None) -> Period:
        """The last 12 weeks: this week and the 11 before it, from a Monday."""
        today = today or timezone.localdate()
        return cls(monday(today) - timedelta(weeks=DEFAULT_WEEKS - 1), today)

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=timezone.get_current_timezone())

    @property
    def until(self) -> datetime:
        """The first instant after the period (exclusive bound)."""
        return datetime.combine(
            self.end + timedelta(days=1), time.min, tzinfo=timezone.get_current_timezone()
        )

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def is_long(self) -> bool:
        """Over a year: exported in the background (a Job) rather than in the request."""
        return self.end >= _one_year_after(self.start)

    @property
    def weekly(self) -> bool:
        return self.days <= WEEKLY_UP_TO_DAYS

    def weeks(self) -> list[date]:
        first, last = monday(self.start), monday(self.end)
        return [first + timedelta(weeks=i) for i in range((last - first).days // 7 + 1)]

    def months(self) -> list[date]:
        months, day = [], self.start.replace(day=1)
        while day <= self.end:
            months.append(day)
            day = (day + timedelta(days=32)).replace(day=1)
        return months

    def buckets(self) -> list[date]:
        return self.weeks() if self.weekly else self.months()

    def trunc(self, column: str):
        return TruncWeek(column) if self.weekly else TruncMonth(column)

    def bucket_label(self) -> Label:
        return gettext_lazy("week starting") if self.weekly else gettext_lazy("month")

    def __str__(self) -> str:
        return f"{self.start.isoformat()} – {self.end.isoformat()}"


# --- what a figure is ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    key: str
    label: Label
    values: tuple[float | int | None, ...]
    # Drawn on the chart; the others (counts behind a share, totals) are in the table only.
    plotted: bool = True


@dataclass(frozen=True)
class Figure:
    key: str
    title: Label
    # "stacked" and "bars" are vertical columns, "hbars" and "hstacked" horizontal bars (long
    # category names), "lines" shares over time.
    chart: str
    x_label: Label
    y_label: Label
    # Full labels (tables, CSV) and the short ones under the chart's axis.
    categories: tuple[Label, ...]
    ticks: tuple[Label, ...]
    series: tuple[Series, ...]
    note: Label = ""
    percent: bool = False
    # The admin page (URL name) that lists the records behind the figure.
    records: str | None = None

    @property
    def plotted(self) -> tuple[Series, ...]:
        return tuple(s for s in self.series if s.plotted)

    @property
    def rows(self) -> list[tuple[Label, list[float | int | None]]]:
        """The table: one row per category, one column per series."""
        return [
            (category, [s.values[i] for s in self.series])
            for i, category in enumerate(self.categories)
        ]

    @property
    def is_empty(self) -> bool:
        """Nothing to draw: every plotted value is missing, or, for counts, zero. A share of 0 %
        is drawn: no high-risk session inspected in time is a figure, not the want of one."""
        values = [v for s in self.plotted for v in s.values if v is not None]
        return not values if self.percent else not any(values)

    def total(self, key: str) -> int:
        series = next(s for s in self.series if s.key == key)
        return int(sum(v or 0 for v in series.values))


def share(part: int, whole: int) -> float | None:
    """A percentage with one decimal; None where nothing was due (a gap, not a zero)."""
    return round(100.0 * part / whole, 1) if whole else None


def _local_day(value) -> date:
    """The bucket's day: TruncWeek/TruncMonth give local midnight as an aware datetime (or a date
    where the backend returns one)."""
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def _by_bucket(rows: Iterable[dict], column: str = "bucket") -> dict[date, dict]:
    return {_local_day(row[column]): row for row in rows}


def _bucket_ticks(period: Period, buckets: list[date]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if period.weekly:
        return (
            tuple(b.isoformat() for b in buckets),
            tuple(f"{b.month:02d}-{b.day:02d}" for b in buckets),
        )
    labels = tuple(f"{b.year}-{b.month:02d}" for b in buckets)
    return labels, labels


# --- the figures ---------------------------------------------------------------------------------


def cases_filed(period: Period) -> Figure:
    """Complaints and reports received per week (or month).

    Counted by `received_at` -- when the consumer filed, on our form or in the platform's app --
    rather than `created_at` (when the record reached us): a complaint forwarded on Monday that
    was filed on Sunday belongs to the week its clocks started in.
    """
    rows = _by_bucket(
        Case.objects.filter(received_at__gte=period.since, received_at__lt=period.until)
        .annotate(bucket=period.trunc("received_at"))
        .values("bucket")
        .annotate(
            complaints=Count("pk", filter=Q(kind=CaseKind.COMPLAINT)),
            reports=Count("pk", filter=Q(kind=CaseKind.REPORT)),
        )
        .order_by("bucket")
    )
    buckets = period.buckets()
    labels, ticks = _bucket_ticks(period, buckets)
    complaints = tuple(rows.get(b, {}).get("complaints", 0) for b in buckets)
    reports = tuple(rows.get(b, {}).get("reports", 0) for b in buckets)
    return Figure(
        key="cases",
        title=gettext_lazy("Complaints and reports filed"),
        chart="stacked",
        x_label=period.bucket_label(),
        y_label=gettext_lazy("cases"),
        categories=labels,
        ticks=ticks,
        series=(
            Series("complaints", gettext_lazy("Complaints"), complaints),
            Series("reports", gettext_lazy("Reports"), reports),
            Series(
                "total",
                gettext_lazy("Total"),
                tuple(c + r for c, r in zip(complaints, reports, strict=True)),
                plotted=False,
            ),
        ),
        note=gettext_lazy("By the day the consumer filed, in Beijing time."),
        records="admin:complaints_case_changelist",
    )


def deadlines(period: Period, today: date | None = None) -> Figure:
    """Deadline compliance of the cases received in each week (or month).

    Acceptance: the acceptance decision (accepted, or not accepted with reasons) on or before
    `acceptance_due` -- 7 working days from receipt plus any days the clock stood still (SAMR
    complaint rules Art. 15). Resolution: the decision on or before `resolution_due`, the
    published target. A case counts once its deadline is met or missed: decided (in time or
    late), or still waiting after its due date. Cases whose clock is paused, withdrawn or merged
    before the decision, or not yet due are in neither number.
    """
    today = today or timezone.localdate()
    acceptance_at = Coalesce(
        "accepted_at",
        Conditional(When(status=CaseStatus.NOT_ACCEPTED, then=F("decided_at")), default=None),
    )
    rows = _by_bucket(
        Case.objects.filter(received_at__gte=period.since, received_at__lt=period.until)
        .alias(
            acceptance_day=TruncDate(acceptance_at),
            decision_day=TruncDate("decided_at"),
        )
        .annotate(bucket=period.trunc("received_at"))
        .values("bucket")
        .annotate(
            acceptance_due_n=Count(
                "pk",
                filter=Q(acceptance_day__isnull=False)
                | Q(status=CaseStatus.NEW, acceptance_due__lt=today),
            ),
            acceptance_in_time=Count("pk", filter=Q(acceptance_day__lte=F("acceptance_due"))),
            resolution_due_n=Count(
                "pk",
                filter=Q(accepted_at__isnull=False, decided_at__isnull=False)
                | Q(status=CaseStatus.ACCEPTED, resolution_due__lt=today),
            ),
            resolution_in_time=Count(
                "pk",
                filter=Q(accepted_at__isnull=False, decision_day__lte=F("resolution_due")),
            ),
        )
        .order_by("bucket")
    )
    buckets = period.buckets()
    labels, ticks = _bucket_ticks(period, buckets)

    def column(name: str) -> tuple[int, ...]:
        return tuple(rows.get(b, {}).get(name, 0) for b in buckets)

    acc_n, acc_ok = column("acceptance_due_n"), column("acceptance_in_time")
    res_n, res_ok = column("resolution_due_n"), column("resolution_in_time")
    return Figure(
        key="deadlines",
        title=gettext_lazy("Deadline compliance"),
        chart="lines",
        x_label=period.bucket_label(),
        y_label=gettext_lazy("share in time (%)"),
        categories=labels,
        ticks=ticks,
        percent=True,
        series=(
            Series(
                "acceptance",
                gettext_lazy("Accepted or refused in time"),
                tuple(share(ok, n) for ok, n in zip(acc_ok, acc_n, strict=True)),
            ),
            Series(
                "resolution",
                gettext_lazy("Resolved in time"),
                tuple(share(ok, n) for ok, n in zip(res_ok, res_n, strict=True)),
            ),
            Series("acceptance_in_time", gettext_lazy("acceptance in time"), acc_ok, False),
            Series("acceptance_due", gettext_lazy("acceptance due"), acc_n, False),
            Series("resolution_in_time", gettext_lazy("resolution in time"), res_ok, False),
            Series("resolution_due", gettext_lazy("resolution due"), res_n, False),
        ),
        note=gettext_lazy(
            "Cases by when they were received. Acceptance is due within 7 working days, "
            "resolution within the published target; days the clock stood still are not counted. "
            "A case counts once its deadline has been met or missed."
        ),
        records="admin:complaints_case_changelist",
    )


def measures_by_kind(period: Period) -> Figure:
    """Measures executed in the period, by kind, in the ladder's order; and how many of them
    have since been reversed on appeal."""
    rows = {
        row["kind"]: row
        for row in Measure.objects.filter(
            executed_at__gte=period.since, executed_at__lt=period.until
        )
        .values("kind")
        .annotate(
            executed=Count("pk"),
            reversed=Count("pk", filter=Q(status=MeasureStatus.REVERSED)),
        )
        .order_by("kind")
    }
    kinds = list(MeasureKind)
    executed = tuple(rows.get(k.value, {}).get("executed", 0) for k in kinds)
    reversed_ = tuple(rows.get(k.value, {}).get("reversed", 0) for k in kinds)
    return Figure(
        key="measures",
        title=gettext_lazy("Measures executed by kind"),
        # One bar per kind, as long as the measures executed: the part reversed on appeal in
        # its own colour at the end.
        chart="hstacked",
        x_label=gettext_lazy("measures"),
        y_label=gettext_lazy("measure"),
        categories=tuple(k.label for k in kinds),
        ticks=tuple(k.label for k in kinds),
        series=(
            Series(
                "standing",
                gettext_lazy("Not reversed"),
                tuple(e - r for e, r in zip(executed, reversed_, strict=True)),
            ),
            Series("reversed", gettext_lazy("Reversed on appeal"), reversed_),
            Series("executed", gettext_lazy("Executed"), executed, plotted=False),
        ),
        note=gettext_lazy(
            "Measures carried out in the period, whatever became of them since; reversals are "
            "counted as of today."
        ),
        records="admin:enforcement_measure_changelist",
    )


def appeals(period: Period) -> Figure:
    """Appeals filed per month and where they stand: upheld, reversed, pending."""
    rows = _by_bucket(
        Appeal.objects.filter(filed_at__gte=period.since, filed_at__lt=period.until)
        .annotate(bucket=TruncMonth("filed_at"))
        .values("bucket")
        .annotate(
            upheld=Count("pk", filter=Q(status=AppealStatus.UPHELD)),
            reversed=Count("pk", filter=Q(status=AppealStatus.REVERSED)),
            pending=Count("pk", filter=Q(status=AppealStatus.PENDING)),
        )
        .order_by("bucket")
    )
    months = period.months()
    labels = tuple(f"{m.year}-{m.month:02d}" for m in months)

    def column(name: str) -> tuple[int, ...]:
        return tuple(rows.get(m, {}).get(name, 0) for m in months)

    upheld, reversed_, pending = column("upheld"), column("reversed"), column("pending")
    return Figure(
        key="appeals",
        title=gettext_lazy("Appeals and their outcomes"),
        chart="stacked",
        x_label=gettext_lazy("month filed"),
        y_label=gettext_lazy("appeals"),
        categories=labels,
        ticks=labels,
        series=(
            Series("upheld", gettext_lazy("Measure upheld"), upheld),
            Series("reversed", gettext_lazy("Measure reversed"), reversed_),
            Series("pending", pgettext_lazy("appeal", "Pending"), pending),
            Series(
                "filed",
                gettext_lazy("Filed"),
                tuple(sum(t) for t in zip(upheld, reversed_, pending, strict=True)),
                plotted=False,
            ),
        ),
        note=gettext_lazy("By the month the appeal was filed; outcomes as of today."),
        records="admin:enforcement_appeal_changelist",
    )


def grades() -> Figure:
    """The credit grade of every party under evaluation now, by kind of party.

    A party is under evaluation once it is approved or has a score; one without a score yet
    stands at the scale's base, so it counts at the base score's grade. Grades come from the
    rule set in force; a grade that only an older rule set used is listed after them.
    """
    _row, rules = rule_set_in_force()
    base_grade = rules.grade(rules.base)
    counts: dict[tuple[str, str], int] = {
        (row["kind"], row["grade"]): row["n"]
        for row in Party.objects.filter(
            Q(approved_at__isnull=False) | Q(credit_score__isnull=False)
        )
        .values("kind", grade=Coalesce("credit_score__grade", Value(base_grade, CharField())))
        .annotate(n=Count("pk"))
        .order_by()
    }
    names = [name for name, _floor in rules.grades]
    names += sorted({grade for _kind, grade in counts} - set(names))
    kinds = list(PartyKind)
    return Figure(
        key="grades",
        title=gettext_lazy("Credit grades now"),
        chart="stacked",
        x_label=gettext_lazy("grade"),
        y_label=gettext_lazy("parties"),
        categories=tuple(names),
        ticks=tuple(names),
        series=tuple(
            Series(kind.value, kind.label, tuple(counts.get((kind.value, g), 0) for g in names))
            for kind in kinds
        ),
        note=gettext_lazy(
            "Approved parties and parties with a score, under the rule set in force; a party "
            "without a score yet counts at the grade of the base score."
        ),
        records="admin:credit_creditscore_changelist",
    )


def patrol_coverage(period: Period, now: datetime | None = None) -> Figure:
    """The share of high-risk sessions first inspected within PATROL_HIGH_RISK_MINUTES of going
    live (LCM Art. 13), per week (or month) of the session's start.

    "High-risk" is the room's grade today: a session does not keep the grade its room had when it
    went live. Sessions that went live less than the allowed minutes ago are not due yet and not
    counted.
    """
    now = now or timezone.now()
    allowed = timedelta(minutes=settings.PATROL_HIGH_RISK_MINUTES)
    in_time = Exists(
        Inspection.objects.filter(session=OuterRef("pk"), at__lte=OuterRef("started_at") + allowed)
    )
    rows = _by_bucket(
        LiveSession.objects.filter(
            room__risk_grade=RiskGrade.HIGH,
            started_at__gte=period.since,
            started_at__lt=min(period.until, now - allowed),
        )
        .annotate(bucket=period.trunc("started_at"))
        .values("bucket")
        .annotate(sessions=Count("pk"), in_time=Count("pk", filter=in_time))
        .order_by("bucket")
    )
    buckets = period.buckets()
    labels, ticks = _bucket_ticks(period, buckets)
    sessions = tuple(rows.get(b, {}).get("sessions", 0) for b in buckets)
    inspected = tuple(rows.get(b, {}).get("in_time", 0) for b in buckets)
    minutes = settings.PATROL_HIGH_RISK_MINUTES
    return Figure(
        key="patrol",
        title=gettext_lazy("Patrol coverage of high-risk sessions"),
        chart="lines",
        x_label=period.bucket_label(),
        y_label=gettext_lazy("share inspected in time (%)"),
        categories=labels,
        ticks=ticks,
        percent=True,
        series=(
            Series(
                "coverage",
                interpolate_lazy(
                    gettext_lazy("Inspected within %(minutes)d minutes"), {"minutes": minutes}
                ),
                tuple(share(i, s) for i, s in zip(inspected, sessions, strict=True)),
            ),
            Series("in_time", gettext_lazy("inspected in time"), inspected, False),
            Series("sessions", gettext_lazy("high-risk sessions"), sessions, False),
        ),
        note=interpolate_lazy(
            gettext_lazy(
                "Sessions of rooms graded high-risk today, by when they went live; in time means "
                "a first inspection within %(minutes)d minutes of going live."
            ),
            {"minutes": minutes},
        ),
        records="admin:liverooms_livesession_coverage",
    )


def inspections_per_reviewer(period: Period, *, named: bool = True) -> Figure:
    """Inspections per reviewer in the period, busiest first. `named=False` (the exports) puts
    "Reviewer 1, 2 …" for the user names: the report is published, the staff list is not."""
    rows = list(
        Inspection.objects.filter(at__gte=period.since, at__lt=period.until)
        .values(reviewer=F(f"inspector__{get_user_model().USERNAME_FIELD}"))
        .annotate(n=Count("pk"), sessions=Count("session", distinct=True))
        .order_by("-n", "reviewer")
    )
    shown, rest = rows[:TOP_REVIEWERS], rows[TOP_REVIEWERS:]
    names: list[Label] = [
        row["reviewer"]
        if named
        else interpolate_lazy(pgettext_lazy("pseudonym", "Reviewer %(n)d"), {"n": i})
        for i, row in enumerate(shown, start=1)
    ]
    inspections = [row["n"] for row in shown]
    sessions = [row["sessions"] for row in shown]
    if rest:
        names.append(interpolate_lazy(gettext_lazy("%(count)d others"), {"count": len(rest)}))
        inspections.append(sum(row["n"] for row in rest))
        sessions.append(sum(row["sessions"] for row in rest))
    return Figure(
        key="reviewers",
        title=gettext_lazy("Inspections per reviewer"),
        chart="hbars",
        x_label=gettext_lazy("inspections"),
        y_label=gettext_lazy("reviewer"),
        categories=tuple(names),
        ticks=tuple(names),
        series=(
            Series("inspections", gettext_lazy("Inspections"), tuple(inspections)),
            Series("sessions", gettext_lazy("Sessions inspected"), tuple(sessions), False),
        ),
        note=interpolate_lazy(
            gettext_lazy(
                "Patrol inspections recorded in the period. The staffing guideline is one "
                "reviewer for at most %(rooms)d live rooms."
            ),
            {"rooms": settings.PATROL_ROOMS_PER_REVIEWER},
        ),
        records="admin:liverooms_inspection_changelist",
    )


# --- all of them ---------------------------------------------------------------------------------

# In the order of the work: what comes in, how fast it is handled, what is done, what is
# contested, where credit stands, how the rooms are watched.
FIGURES: dict[str, Callable[..., Figure]] = {
    "cases": lambda period, named: cases_filed(period),
    "deadlines": lambda period, named: deadlines(period),
    "measures": lambda period, named: measures_by_kind(period),
    "appeals": lambda period, named: appeals(period),
    "grades": lambda period, named: grades(),
    "patrol": lambda period, named: patrol_coverage(period),
    "reviewers": lambda period, named: inspections_per_reviewer(period, named=named),
}


def figure(key: str, period: Period, *, named: bool = True) -> Figure:
    return FIGURES[key](period, named)


def all_figures(
    period: Period, *, named: bool = True, progress: Callable[[int], None] | None = None
) -> list[Figure]:
    """Every figure, in order; `progress(n)` after each (the export job's progress bar)."""
    figures = []
    for done, key in enumerate(FIGURES, start=1):
        figures.append(figure(key, period, named=named))
        if progress is not None:
            progress(done)
    return figures
