"""Chinese working days: weekends off, public holidays off, adjusted working days on.

Legal deadlines here count working days (LCM Art. 15's 7 working days; the SAMR complaint rules'
7 and 45). The State Council publishes each year's schedule in the autumn before, and staff
enter it in the admin (`accounts.models.CalendarYear` and its `CalendarDay`s; the years up to
2026 were seeded from the `chinesecalendar` package). A year is *known* exactly when it has a
`CalendarYear` row. A deadline that runs past the known years never fails: the unknown days are
counted as plain weekdays and the result is flagged as an estimate, to be checked once the
schedule is out.

Counting convention, shared by every function here: the start day itself is never counted; a
period of n working days ends on the n-th working day *after* the start. So for n >= 0

    working_days_between(start, add_working_days(start, n).due) == n

Callers that compute many deadlines at once (a list, a batch job) take one
`working_calendar()` and call its methods, so the cache is consulted once.

Late December of the last known year can still change: the next year's notice sometimes moves
days at the end of the year before (31 December 2022 became a holiday by the 2023 notice). Staff
add such a day to the earlier year's calendar; deadlines already computed are not recomputed.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils.translation import gettext as _

from accounts.actors import Actor
from accounts.models import CalendarDay, CalendarDayKind, CalendarYear

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Deadline:
    due: date
    # True when some day counted lies beyond the published holiday calendar.
    estimated: bool


@dataclass(frozen=True)
class WorkingCalendar:
    """A snapshot of the published calendar: pure arithmetic, no queries."""

    known_years: frozenset[int]
    # The exceptions to the Monday-Friday week: date -> is a working day (a public holiday is
    # False, an adjusted working day True). Only dates in known years appear here.
    exceptions: Mapping[date, bool]

    def is_working_day(self, day: date) -> tuple[bool, bool]:
        """(is a working day, known from the published calendar).

        Outside the known years the answer is "Monday to Friday" and `known` is False.
        """
        _require_date(day)
        return self.exceptions.get(day, day.weekday() < 5), day.year in self.known_years

    def add_working_days(self, start: date, days: int) -> Deadline:
        """The date `days` working days after `start` (the start day itself is not counted).

        `days == 0` gives `start` itself, never estimated. `estimated` is True when any day
        after `start` up to the due date lies outside the known years.
        """
        _require_date(start)
        if days < 0:
            raise ValueError("days must not be negative")
        current, counted, estimated = start, 0, False
        while counted < days:
            current += timedelta(days=1)
            working, known = self.is_working_day(current)
            estimated = estimated or not known
            if working:
                counted += 1
        return Deadline(due=current, estimated=estimated)

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days d there are with start < d <= end.

        The start day is not counted and the end day is, as in `add_working_days`: a clock
        started on `start` has used this many working days by the end of `end`, and
        `working_days_between(s, add_working_days(s, n).due) == n`. 0 when `end == start`;
        `end` before `start` is a caller's error (ValueError). Days outside the known years count
        as Monday-Friday; check `is_working_day(...)[1]` or `known_years` when that matters.
        """
        _require_date(start)
        _require_date(end)
        if end < start:
            raise ValueError("end must not be before start")
        return sum(
            1
            for offset in range(1, (end - start).days + 1)
            if self.is_working_day(start + timedelta(days=offset))[0]
        )


def _require_date(day: date) -> None:
    # A datetime is a date too, but never equal to one: it would miss every holiday silently.
    if isinstance(day, datetime) or not isinstance(day, date):
        raise TypeError(
            f"expected a date, got {type(day).__name__}: use timezone.localdate(...) "
            "so that the day is the one in China"
        )


# --- The public functions: one snapshot each ------------------------------------------------


def is_working_day(day: date) -> tuple[bool, bool]:
    """(is a working day, known from the published calendar). See `WorkingCalendar`."""
    return working_calendar().is_working_day(day)


def add_working_days(start: date, days: int) -> Deadline:
    """The date `days` working days after `start` (the start day itself is not counted)."""
    return working_calendar().add_working_days(start, days)


def working_days_between(start: date, end: date) -> int:
    """Working days d with start < d <= end. See `WorkingCalendar.working_days_between`."""
    return working_calendar().working_days_between(start, end)


# --- The cache -------------------------------------------------------------------------------
#
# The calendar is a few hundred rows that change about once a year, read by every deadline. Each
# process keeps one snapshot in memory, tagged with a version token kept in Django's cache
# (Redis in production, shared by the web and Celery processes). Every read compares the tokens
# (one cache GET, no query); a change to a CalendarYear or CalendarDay replaces the token after
# its transaction commits, so every process reloads on its next read. After commit, not at
# save time: a process that reloaded before the commit would read the old rows and keep them
# under the new token. The token is random, not a counter, so a key lost to eviction or a
# cache flush can never come back equal to a token some process cached under. As a backstop for
# a cache that is not shared (the local-memory cache of a dev setup running a worker) or not
# reachable, no snapshot is used longer than MAX_AGE_SECONDS; with no cache at all every read
# loads from the database, which is slower but still right.
#
# Inside the writing transaction itself the thread reads the database directly (never caching
# what it reads), so it sees its own uncommitted rows and a rollback leaves nothing behind.

VERSION_KEY = "accounts:workdays:version"
MAX_AGE_SECONDS = 60


@dataclass(frozen=True)
class _Snapshot:
    calendar: WorkingCalendar
    version: str
    loaded_at: float


_snapshot: _Snapshot | None = None
# .writing: this thread changed the calendar in a transaction that has not committed yet.
_thread = threading.local()
_clock = time.monotonic


def working_calendar() -> WorkingCalendar:
    """The calendar as committed, from this process's snapshot when it is still current."""
    global _snapshot
    if getattr(_thread, "writing", False):
        if connection.in_atomic_block:
            return _load()
        # Out of the transaction: it committed (and the version moved) or rolled back.
        _thread.writing = False
    version = _shared_version()
    if version is None:
        return _load()
    snapshot = _snapshot
    if (
        snapshot is not None
        and snapshot.version == version
        and _clock() - snapshot.loaded_at < MAX_AGE_SECONDS
    ):
        return snapshot.calendar
    # The token is read before the rows: a change committed in between moves the token again
    # and the next read reloads.
    calendar = _load()
    _snapshot = _Snapshot(calendar=calendar, version=version, loaded_at=_clock())
    return calendar


def calendar_changed() -> None:
    """Called for every write to the calendar (by the models' signals and the services here)."""
    _thread.writing = True
    # Runs at once when not in a transaction (the row is already committed).
    transaction.on_commit(_committed)


def _committed() -> None:
    _thread.writing = False
    try:
        cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)
    except Exception:
        # The change is committed; other processes pick it up within MAX_AGE_SECONDS.
        logger.warning("could not move the working-day calendar version", exc_info=True)


def _shared_version() -> str | None:
    try:
        version = cache.get(VERSION_KEY)
        if version is None:
            # First use, or the key was evicted: a new token, so every process reloads. `add`
            # lets the first process win; everyone then reads the same token.
            cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=None)
            version = cache.get(VERSION_KEY)
        return version
    except Exception:
        logger.warning(
            "working-day calendar version unreadable; reading the database", exc_info=True
        )
        return None


def _load() -> WorkingCalendar:
    return WorkingCalendar(
        known_years=frozenset(CalendarYear.objects.values_list("year", flat=True)),
        exceptions={
            day: kind == CalendarDayKind.WORKDAY
            for day, kind in CalendarDay.objects.values_list("date", "kind")
        },
    )


# --- Writing the calendar --------------------------------------------------------------------


@dataclass(frozen=True)
class DayEntry:
    """One exceptional day as staff enter it (see `accounts.admin_calendar` for the format)."""

    date: date
    kind: str  # CalendarDayKind
    name: str


@transaction.atomic
def calendar_year_add(
    *, calendar_year: CalendarYear, days: Iterable[DayEntry], actor: Actor
) -> CalendarYear:
    """Save a newly published year (an unsaved instance, as the admin's form builds it) with
    all its days, or nothing.

    From the commit on, the year is known: deadlines that run into it are no longer estimates.
    Deadlines stored earlier keep their values; whoever stored them recomputes the estimated
    ones.
    """
    if actor.user is None or not actor.user.has_perm("accounts.add_calendaryear"):
        raise PermissionDenied(_("Only a compliance lead can enter a calendar year."))
    if calendar_year.pk is not None:
        raise ValueError("calendar_year_add saves a new year; change an existing one in place")
    calendar_year.full_clean()
    rows, errors, seen = [], [], set()
    for entry in days:
        if entry.date in seen:
            errors.append(_("%(date)s is entered twice.") % {"date": entry.date})
            continue
        seen.add(entry.date)
        day = CalendarDay(year=calendar_year, date=entry.date, kind=entry.kind, name=entry.name)
        try:
            # Uniqueness needs no query: every date lies in this new, unique year.
            day.full_clean(exclude=["year"], validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            errors.extend(exc.messages)  # each names its date
        rows.append(day)
    if errors:
        raise ValidationError(errors)
    calendar_year.entered_by = actor.user
    calendar_year.save()
    for day in rows:
        day.year = calendar_year  # sets year_id now that the year has a primary key
    CalendarDay.objects.bulk_create(rows)
    # bulk_create sends no post_save: say so explicitly.
    calendar_changed()
    return calendar_year
