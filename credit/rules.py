"""The credit rules: what a rule set's JSON means, checked before it is published, and the score
they give a party. The same formula runs per party in Python (the worker's incremental update and
every explanation) and for everyone at once in SQL (`credit.recompute`); a test holds the two
equal.

A score is `base + Σ points × weight(age) + evaluations`, clamped to the scale:

- Deductions (violations, measures, upheld complaints, sanctions, shared records) count fully for
  `decay.full_days`, then fade linearly to nothing at `decay.gone_days`. Reversals and credit
  repairs (credit/repair.py) are dated like the deductions they offset and fade on the same
  schedule, so that they keep cancelling them.
- Training counts for `training_days` (LCM Art. 10: trained every year).
- Evaluations: the stars of the last `window_days`, each weighted by `0.5 ** (age /
  half_life_days)`, averaged; the average's distance from `neutral` moves the score by up to
  `points` either way, once at least `min_count` evaluations are in the window.
- An agency's score also carries `agency.anchor_share` of its current anchors' deductions (the
  second seed: an agency answers for its anchors).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# The first rule set is in force from before any record the product keeps (it replaced nothing,
# so no notice was due); every later one takes effect at least 7 days after it is published.
FIRST_EFFECTIVE = datetime(2020, 1, 1, tzinfo=UTC)

# The kinds whose points fade on the deduction schedule; training has its own.
BONUS_RULES = {"training"}
GRADE_PATTERN = ["A", "B", "C", "D", "E"]

DEFAULT_RULES: dict = {
    "scale": {
        "base": 1000,
        "min": 0,
        "max": 1000,
        # Highest first: a score at or above the number has the grade.
        "grades": [["A", 950], ["B", 850], ["C", 700], ["D", 500], ["E", 0]],
    },
    "points": {
        # Violations take the catalogue's points for their type, times this factor.
        "violation_factor": 1.0,
        "measure": {
            "warning": -5,
            "notice_to_correct": -5,
            "remove_content": -10,
            "restrict_listing": -20,
            "traffic_restriction": -20,
            "live_suspension": -50,
            "fixed_term_ban": -100,
            "deposit_deduction": -30,
            "account_cancellation": -300,
            "re_registration_ban": -300,
            "blacklist": -300,
            "refer_authority": -100,
            "refer_judiciary": -200,
        },
        "complaint_upheld": -10,
        "training": 10,
        "sanction": {
            "false_ad_endorsement": -150,
            "administrative_penalty": -100,
            "serious_dishonesty": -300,
            "abnormal_operation": -50,
        },
        "shared_record": {"serious_dishonesty": -300, "blacklist": -300},
        # A notice to correct corrected in time gives back this much.
        "correction": 5,
    },
    "decay": {"full_days": 365, "gone_days": 730},
    "training_days": 365,
    # Credit repair (信用修复): after this many days without a new deduction, this share of the
    # deductions still counting is given back, at most once per clean period and once for each
    # deduction (credit/repair.py).
    "repair": {"clean_days": 180, "share": 0.5},
    "evaluations": {
        "window_days": 90,
        "half_life_days": 30,
        "neutral": 4.0,
        "points": 50,
        "min_count": 3,
    },
    "agency": {"anchor_share": 0.3},
    # The grade needed to go live selling in each category (categories not listed: `default`),
    # and to be admitted at all (the seeds: "credit should be the entry threshold").
    "live_grades": {
        "default": "D",
        "food": "C",
        "health_food": "C",
        "infant_formula": "B",
        "medical_devices": "B",
        "drugs": "B",
    },
    "entry_grade": "E",
}


@dataclass(frozen=True)
class Rules:
    base: int
    minimum: int
    maximum: int
    grades: list[tuple[str, int]]
    points: dict
    full_days: int
    gone_days: int
    training_days: int
    repair_clean_days: int
    repair_share: float
    window_days: int
    half_life_days: float
    neutral: float
    evaluation_points: int
    min_evaluations: int
    anchor_share: float
    live_grades: dict[str, str] = field(default_factory=dict)
    entry_grade: str = "E"

    def grade(self, score: int) -> str:
        for name, floor in self.grades:
            if score >= floor:
                return name
        return self.grades[-1][0]

    def rank(self, grade: str) -> int:
        """0 for the best grade; a larger number is worse (an unknown grade is the worst)."""
        return self._ranks.get(grade, len(self.grades))

    @cached_property
    def _ranks(self) -> dict[str, int]:
        # Asked several times for every go-live (liverooms/credit_gate.py). cached_property
        # writes the instance's __dict__ directly, which a frozen dataclass allows.
        ranks: dict[str, int] = {}
        for index, (name, _floor) in enumerate(self.grades):
            ranks.setdefault(name, index)
        return ranks

    def live_grade(self, category: str) -> str:
        return self.live_grades.get(category, self.live_grades.get("default", self.grades[-1][0]))

    def weight(self, rule: str, age_days: float) -> float:
        """How much of an event's points still count at this age."""
        if age_days < 0:
            return 1.0
        if rule in BONUS_RULES:
            return 1.0 if age_days < self.training_days else 0.0
        if age_days <= self.full_days:
            return 1.0
        if age_days >= self.gone_days:
            return 0.0
        return (self.gone_days - age_days) / (self.gone_days - self.full_days)


def parse(data: dict) -> Rules:
    """Check a rule set's JSON and return what it means; a clear error names what is wrong."""
    try:
        scale = data["scale"]
        grades = [(str(name), int(floor)) for name, floor in scale["grades"]]
        decay = data["decay"]
        repair = data["repair"]
        evaluations = data["evaluations"]
        rules = Rules(
            base=int(scale["base"]),
            minimum=int(scale["min"]),
            maximum=int(scale["max"]),
            grades=grades,
            points=dict(data["points"]),
            full_days=int(decay["full_days"]),
            gone_days=int(decay["gone_days"]),
            training_days=int(data["training_days"]),
            repair_clean_days=int(repair["clean_days"]),
            repair_share=float(repair["share"]),
            window_days=int(evaluations["window_days"]),
            half_life_days=float(evaluations["half_life_days"]),
            neutral=float(evaluations["neutral"]),
            evaluation_points=int(evaluations["points"]),
            min_evaluations=int(evaluations["min_count"]),
            anchor_share=float(data["agency"]["anchor_share"]),
            live_grades={str(k): str(v) for k, v in data["live_grades"].items()},
            entry_grade=str(data["entry_grade"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationError(
            {"rules": _("The rules are incomplete or malformed: %s") % exc}
        ) from None
    errors = []
    if not rules.minimum <= rules.base <= rules.maximum:
        errors.append(_("The base score must lie between the minimum and the maximum."))
    floors = [floor for _name, floor in rules.grades]
    if not grades or floors != sorted(floors, reverse=True) or len(set(floors)) != len(floors):
        errors.append(_("Grades must be listed from the highest threshold down, each different."))
    elif floors[-1] > rules.minimum:
        errors.append(_("The lowest grade must start at the minimum score."))
    names = {name for name, _floor in rules.grades}
    if len(names) != len(rules.grades):
        errors.append(_("Each grade needs its own name."))
    unknown = {g for g in [*rules.live_grades.values(), rules.entry_grade] if g not in names}
    if unknown:
        errors.append(_("Unknown grades: %s") % ", ".join(sorted(unknown)))
    if not 0 < rules.full_days < rules.gone_days:
        errors.append(_("Deductions must count fully for some days and fade out later."))
    if not 0 <= rules.repair_share <= 1 or rules.repair_clean_days < 1:
        errors.append(_("Repair needs a clean period and a share between 0 and 1."))
    if not 1 <= rules.neutral <= 5 or rules.half_life_days <= 0 or rules.window_days < 1:
        errors.append(_("Evaluations need a window, a half-life and a neutral rating of 1 to 5."))
    if not 0 <= rules.anchor_share <= 1:
        errors.append(_("An agency's share of its anchors' deductions is between 0 and 1."))
    if errors:
        raise ValidationError({"rules": errors})
    return rules


# --- one party's score -----------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One event's part in a score, for the explanation."""

    event_id: int
    kind: str
    rule: str
    points: int
    weight: float
    counted: float
    occurred_at: datetime
    description: str


@dataclass(frozen=True)
class Result:
    score: int
    grade: str
    deductions: int
    additions: int
    evaluation_points: int
    lines: list[Line]
    evaluation_average: float | None
    evaluation_count: int


def half_up(value: float) -> int:
    """Rounding as the SQL recompute does it (FLOOR(ROUND(x, 6) + 0.5)), so that both agree.
    Rounding to 6 decimals first drops the floating-point noise, which differs with the order of
    the sums: evaluations of 3.67 stars give 50 x (3.67 - 4) / 3 = -5.500000000000001 here and
    -5.5 in SQL, -6 and -5 points without it."""
    return math.floor(round(value, 6) + 0.5)


def age_days(now: datetime, then: datetime) -> float:
    return (now - then).total_seconds() / 86400


def evaluation_points(
    rules: Rules, stars: Iterable[tuple[float, float]]
) -> tuple[int, float | None, int]:
    """(points, weighted average, count) from (age in days, stars) within the window."""
    total = weights = 0.0
    count = 0
    for age, value in stars:
        if 0 <= age < rules.window_days:
            w = 0.5 ** (age / rules.half_life_days)
            total += w * value
            weights += w
            count += 1
    if count < rules.min_evaluations or weights == 0:
        return 0, (total / weights if weights else None), count
    average = total / weights
    span = (5 - rules.neutral) if average >= rules.neutral else (rules.neutral - 1)
    share = (average - rules.neutral) / span if span else 0.0
    return half_up(rules.evaluation_points * share), average, count


def compute(rules: Rules, events, *, now: datetime, anchor_events=()) -> Result:
    """The score from a party's events (and, for an agency, its anchors' deduction events)."""
    lines = []
    deductions = additions = 0.0
    stars = []
    for event in events:
        if event.kind == "evaluation":
            if event.value is not None:
                stars.append((age_days(now, event.occurred_at), float(event.value)))
            continue
        weight = rules.weight(event.rule, age_days(now, event.occurred_at))
        counted = event.points * weight
        if counted < 0:
            deductions += counted
        else:
            additions += counted
        lines.append(
            Line(
                event.pk,
                event.kind,
                event.rule,
                event.points,
                weight,
                counted,
                event.occurred_at,
                event.description,
            )
        )
    for event in anchor_events:
        weight = rules.weight(event.rule, age_days(now, event.occurred_at))
        counted = event.points * weight * rules.anchor_share
        deductions += min(counted, 0)
        additions += max(counted, 0)
        lines.append(
            Line(
                event.pk,
                "anchor",
                event.rule,
                event.points,
                weight * rules.anchor_share,
                counted,
                event.occurred_at,
                event.description,
            )
        )
    from_evaluations, average, count = evaluation_points(rules, stars)
    raw = rules.base + deductions + additions + from_evaluations
    score = max(rules.minimum, min(rules.maximum, half_up(raw)))
    return Result(
        score=score,
        grade=rules.grade(score),
        deductions=half_up(deductions),
        additions=half_up(additions),
        evaluation_points=from_evaluations,
        lines=lines,
        evaluation_average=average,
        evaluation_count=count,
    )
