"""Chinese working days: weekends off, public holidays off, adjusted working days on.

Legal deadlines here count working days (LCM Art. 15's 7 working days; the SAMR complaint rules'
7 and 45). The State Council publishes each year's schedule in the autumn before; `chinesecalendar`
carries the published years. A deadline that runs past the last published year never fails:
it is counted on plain weekdays and flagged as an estimate, to be checked once the schedule is
out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import chinese_calendar


@dataclass(frozen=True)
class Deadline:
    due: date
    # True when some day counted lies beyond the published holiday calendar.
    estimated: bool


def is_working_day(day: date) -> tuple[bool, bool]:
    """(is a working day, known from the published calendar)."""
    try:
        return chinese_calendar.is_workday(day), True
    except NotImplementedError:
        return day.weekday() < 5, False


def add_working_days(start: date, days: int) -> Deadline:
    """The date `days` working days after `start` (the start day itself is not counted)."""
    if days < 0:
        raise ValueError("days must not be negative")
    current, counted, estimated = start, 0, False
    while counted < days:
        current += timedelta(days=1)
        working, known = is_working_day(current)
        estimated = estimated or not known
        if working:
            counted += 1
    return Deadline(due=current, estimated=estimated)
