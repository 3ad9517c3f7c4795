"""The patrol's shifts and what the coverage report of one reads.

A shift begins at one of settings.PATROL_SHIFT_STARTS (Beijing time) and runs until the next one
begins; the last of a day runs into the next day. The staffing guideline (at least one reviewer
for 50 live rooms, NRTA 2020) is held against the most sessions on air at once during the shift,
not against how many went live in it: fifty rooms in a row are one reviewer's work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from liverooms.models import LiveSession, SessionStatus


def starts() -> list[time]:
    """The times of day shifts begin, in order (validated by the settings)."""
    return sorted(time.fromisoformat(start) for start in settings.PATROL_SHIFT_STARTS)


@dataclass(frozen=True)
class Shift:
    day: date  # the day it begins on, Beijing time
    begins: time
    start: datetime
    end: datetime  # the first instant after it

    @property
    def label(self) -> str:
        end = timezone.localtime(self.end)
        return f"{self.day:%Y-%m-%d} {self.begins:%H:%M}–{end:%H:%M}"


def shift_of(day: date, begins: time) -> Shift:
    """The shift that begins at `begins` on `day`. ValueError if no shift begins then."""
    times = starts()
    index = times.index(begins)
    tz = timezone.get_current_timezone()
    if index + 1 < len(times):
        end = datetime.combine(day, times[index + 1], tzinfo=tz)
    else:
        end = datetime.combine(day + timedelta(days=1), times[0], tzinfo=tz)
    return Shift(day, begins, datetime.combine(day, begins, tzinfo=tz), end)


def shift_at(moment: datetime) -> Shift:
    """The shift under way at `moment`."""
    local = timezone.localtime(moment)
    times = starts()
    begun = [t for t in times if t <= local.time()]
    if begun:
        return shift_of(local.date(), begun[-1])
    return shift_of(local.date() - timedelta(days=1), times[-1])


def on_air_during(start: datetime, end: datetime):
    """Sessions on air at any time in [start, end): went live before its end and ended after
    its start (one that ended as the shift began was the shift before's). Each side of the OR is
    read from a partial index of its own (the sessions on air, the sessions ended since)."""
    return LiveSession.objects.filter(started_at__lt=end).filter(
        Q(status=SessionStatus.LIVE) | Q(ended_at__gt=start)
    )


def peak_on_air(start: datetime, end: datetime) -> int:
    """The most sessions on air at one instant in [start, end). A session that ends at the
    instant another goes live is not counted with it."""
    events = []
    for started, ended in on_air_during(start, end).values_list("started_at", "ended_at"):
        events.append((max(started, start), 1))
        if ended is not None and ended < end:
            events.append((ended, -1))
    events.sort()  # at one instant, the ends (-1) before the starts
    peak = running = 0
    for _at, step in events:
        running += step
        peak = max(peak, running)
    return peak
