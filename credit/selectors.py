"""What the public may read about credit: the directory, a party's credit profile and the
published rules. The public pages (`credit.views`) and the public API (`credit.api`) both read
through here, so that they show the same things and nothing more.

What is public (RULES.md §6, ECL Art. 39: the rules are public and the results publicised): a
party's name, kind, grade and score, the rule set version that computed it, its confirmed
violations and executed measures (what and when, nothing of the facts), the summary of consumers'
evaluations and the history of the score. Only approved parties: a file still in review is not
public. Never an identity number, a contact, a consumer or a case: an event's `description` is
shown only for the kinds whose description is known to be built from public data (see
`PUBLIC_DESCRIPTION_KINDS`); every other event gets a label for its rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Party
from credit import scoring
from credit.models import (
    CreditEvent,
    CreditScore,
    EventKind,
    RuleSet,
    SanctionKind,
    ScoreChange,
    SharedKind,
)
from credit.rules import Rules, parse
from merchants.models import Category

QUERY_MAX_LENGTH = 60
RECENT_MEASURES = 10
HISTORY = 12

# Violations are described by enforcement as the catalogue's name, code and version of the rule
# broken -- public data. Every other kind's description may name a consumer's case (an upheld
# complaint carries its tracking code), an authority's file number or a training provider.
PUBLIC_DESCRIPTION_KINDS = {EventKind.VIOLATION}
# What the profile lists as the party's record: what was found and what was done about it.
RECORD_KINDS = [EventKind.VIOLATION, EventKind.MEASURE]

# The measures of the disposal ladder by their keys in the rules' `points.measure` table, in the
# ladder's order (enforcement.models.MeasureKind; credit sits below enforcement and cannot import
# it). A key a later rule set adds and this table lacks is shown as the key itself.
MEASURE_LABELS = {
    "warning": _("Warning"),
    "notice_to_correct": _("Notice to correct"),
    "remove_content": _("Remove or block content and goods"),
    "restrict_listing": _("Restrict listings and content"),
    "traffic_restriction": _("Traffic restriction"),
    "live_suspension": _("Live suspension"),
    "fixed_term_ban": _("Fixed-term ban"),
    "deposit_deduction": _("Deposit deduction"),
    "account_cancellation": _("Account cancellation or removal"),
    "re_registration_ban": _("Ban on re-registration"),
    "blacklist": _("Blacklisting"),
    "refer_authority": _("Referral to the authorities"),
    "refer_judiciary": _("Referral to the judiciary"),
}

# Why a score changed, as the history shows it. `anchor:<id>` names one of an agency's anchors;
# the public reads only that an anchor's record moved it.
CAUSE_LABELS = {
    "event": _("A new credit event"),
    "recompute": _("Nightly recomputation"),
}
ANCHOR_CAUSE = _("An anchor's record (the agency answers for its anchors)")
OTHER_CAUSE = _("Brought up to date")


def normalise_query(query: str | None) -> str:
    return " ".join((query or "").split())[:QUERY_MAX_LENGTH]


def measure_label(key: str) -> str | Promise:
    return MEASURE_LABELS.get(key, key)


def cause_label(cause: str) -> str | Promise:
    if cause.startswith("anchor:"):
        return ANCHOR_CAUSE
    return CAUSE_LABELS.get(cause, OTHER_CAUSE)


def grade_names() -> list[str]:
    """The grades of the rule set in force, best first (the scale is configuration)."""
    _row, rules = scoring.rule_set_in_force()
    return [name for name, _floor in rules.grades]


# --- the directory -----------------------------------------------------------------------------


def public_parties(
    *, query: str = "", kind: str | None = None, grade: str | None = None
) -> QuerySet[Party]:
    """Approved parties whose name holds every word of `query`, of a kind and a grade, the most
    recently registered first.

    Each carries `grade` and `score`. A party not scored yet (no event, and registered since the
    last nightly recompute) has the scale's base, as the go-live gate and the entry check take
    it. One query per page and one to count, whatever the page size: the score is joined, never
    fetched per row. Newest first rather than by name: the primary key's index gives the order,
    so a page stops reading once it is full (by name, every page of 500,000 parties sorted them
    all: 0.7 s against milliseconds).
    """
    _row, rules = scoring.rule_set_in_force()
    parties = parties_named(Party.objects.filter(approved_at__isnull=False), query)
    if kind:
        parties = parties.filter(kind=kind)
    if grade:
        parties = parties_graded(parties, grade)
    return (
        parties.annotate(
            grade=Coalesce(F("credit_score__grade"), Value(rules.grade(rules.base))),
            score=Coalesce(F("credit_score__score"), Value(rules.base)),
        )
        .only("id", "name", "kind")
        .order_by("-id")
    )


def parties_named(parties: QuerySet[Party], query: str | None) -> QuerySet[Party]:
    """Every word of the query somewhere in the name. The words are bounded by the query's
    length, and so is the number of conditions."""
    for word in normalise_query(query).split():
        parties = parties.filter(name__icontains=word)
    return parties


def parties_graded(parties: QuerySet[Party], grade: str) -> QuerySet[Party]:
    """The grade as stored, or, for a party not scored yet, the grade of the base score. The
    stored grade is compared as a column, so that its index serves the common case."""
    _row, rules = scoring.rule_set_in_force()
    matches = Q(credit_score__grade=grade)
    if grade == rules.grade(rules.base):
        matches |= Q(credit_score__isnull=True)
    return parties.filter(matches)


# --- a party's profile -------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordLine:
    """A confirmed violation or an executed measure: what and when, never why or who told."""

    kind: str
    kind_label: str
    label: str
    occurred_on: date
    reversed: bool


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    score: int
    grade: str
    rule_set_version: int
    cause: str


@dataclass(frozen=True)
class EvaluationSummary:
    """Consumers' evaluations in the rule set's window, weighted toward the recent ones."""

    average: Decimal | None
    count: int
    window_days: int
    min_count: int
    points: int

    @property
    def counted(self) -> bool:
        return self.count >= self.min_count


@dataclass(frozen=True)
class Profile:
    """What the public reads about one party. Before its first score, the party has the scale's
    base under the rules in force (`scored` is False, and nothing is deducted or added)."""

    party: Party
    scored: bool
    score: int
    grade: str
    rule_set_version: int
    computed_at: datetime | None
    deductions: int
    additions: int
    evaluation_points: int
    record: list[RecordLine]
    evaluations: EvaluationSummary
    history: list[HistoryLine]


def public_party(party_id: int) -> Party | None:
    """The approved party, or None: unknown and unapproved ids look the same."""
    return (
        Party.objects.filter(pk=party_id, approved_at__isnull=False)
        .only("id", "name", "kind")
        .first()
    )


def _event_label(event: CreditEvent) -> str | Promise:
    if event.kind in PUBLIC_DESCRIPTION_KINDS and event.description:
        return event.description
    if event.kind == EventKind.MEASURE:
        return measure_label(event.rule.partition(".")[2])
    return EventKind(event.kind).label


def party_record(party: Party, *, limit: int = RECENT_MEASURES) -> list[RecordLine]:
    """The party's latest confirmed violations and executed measures, newest first; one undone
    on appeal stays listed and says so, like the public notices."""
    undone = CreditEvent.objects.filter(reverses_id=OuterRef("pk"))
    events = (
        CreditEvent.objects.filter(party=party, kind__in=RECORD_KINDS)
        .annotate(undone=Exists(undone))
        .only("id", "kind", "rule", "description", "occurred_at")
        .order_by("-occurred_at", "-id")[:limit]
    )
    return [
        RecordLine(
            kind=event.kind,
            kind_label=EventKind(event.kind).label,
            label=_event_label(event),
            occurred_on=timezone.localdate(event.occurred_at),
            reversed=event.undone,
        )
        for event in events
    ]


def score_history(party: Party, *, limit: int = HISTORY) -> list[HistoryLine]:
    changes = (
        ScoreChange.objects.filter(party=party)
        .select_related("rule_set")
        .only("at", "score", "grade", "cause", "rule_set__version")
        .order_by("-at", "-id")[:limit]
    )
    return [
        HistoryLine(
            at=change.at,
            score=change.score,
            grade=change.grade,
            rule_set_version=change.rule_set.version,
            cause=cause_label(change.cause),
        )
        for change in changes
    ]


def evaluation_summary(party: Party) -> EvaluationSummary:
    _row, rules = scoring.rule_set_in_force()
    result = scoring.explain(party)
    average = result.evaluation_average
    return EvaluationSummary(
        average=Decimal(str(round(average, 2))) if average is not None else None,
        count=result.evaluation_count,
        window_days=rules.window_days,
        min_count=rules.min_evaluations,
        points=result.evaluation_points,
    )


def party_profile(party: Party) -> Profile:
    stored = (
        CreditScore.objects.filter(party=party)
        .select_related("rule_set")
        .only(
            "party_id",
            "score",
            "grade",
            "deductions",
            "additions",
            "evaluation_points",
            "computed_at",
            "rule_set__version",
        )
        .first()
    )
    if stored is not None:
        figures = {
            "scored": True,
            "score": stored.score,
            "grade": stored.grade,
            "rule_set_version": stored.rule_set.version,
            "computed_at": stored.computed_at,
            "deductions": stored.deductions,
            "additions": stored.additions,
            "evaluation_points": stored.evaluation_points,
        }
    else:
        row, rules = scoring.rule_set_in_force()
        figures = {
            "scored": False,
            "score": rules.base,
            "grade": rules.grade(rules.base),
            "rule_set_version": row.version,
            "computed_at": None,
            "deductions": 0,
            "additions": 0,
            "evaluation_points": 0,
        }
    return Profile(
        party=party,
        record=party_record(party),
        evaluations=evaluation_summary(party),
        history=score_history(party),
        **figures,
    )


# --- the published rules -----------------------------------------------------------------------


class Standing:
    IN_FORCE = "in_force"
    SCHEDULED = "scheduled"
    SUPERSEDED = "superseded"

    CHOICES = [
        (IN_FORCE, pgettext_lazy("rule set", "In force")),
        (SCHEDULED, _("Scheduled")),
        (SUPERSEDED, _("Superseded")),
    ]


@dataclass(frozen=True)
class PublishedRuleSet:
    row: RuleSet
    standing: str
    # When the next version took (or takes) over; None while nothing follows.
    effective_until: datetime | None

    @property
    def version(self) -> int:
        return self.row.version


def published_rule_sets(*, now: datetime | None = None) -> list[PublishedRuleSet]:
    """Every published version, newest first, each with its standing: the one in force (the
    latest whose start has come, as `scoring.rule_set_in_force` picks it), those scheduled, and
    those superseded with the date they stopped applying. Drafts are not public."""
    now = now or timezone.now()
    rows = list(
        RuleSet.objects.filter(published_at__isnull=False)
        .defer("rules")
        .order_by("effective_from", "version")
    )
    in_force = None
    for row in rows:
        if row.effective_from <= now:
            in_force = row
    listed = []
    for index, row in enumerate(rows):
        following = rows[index + 1] if index + 1 < len(rows) else None
        if row.effective_from > now:
            standing = Standing.SCHEDULED
        elif row is in_force:
            standing = Standing.IN_FORCE
        else:
            standing = Standing.SUPERSEDED
        until = following.effective_from if following is not None else None
        listed.append(PublishedRuleSet(row, standing, until))
    listed.reverse()
    return listed


def published_rule_set(version: int, *, now: datetime | None = None) -> PublishedRuleSet | None:
    """One published version with its standing (and its rules), or None for a draft or none."""
    for published in published_rule_sets(now=now):
        if published.version == version:
            row = RuleSet.objects.get(pk=published.row.pk)
            return PublishedRuleSet(row, published.standing, published.effective_until)
    return None


# --- the rules in plain language ---------------------------------------------------------------


@dataclass(frozen=True)
class GradeBand:
    name: str
    low: int
    high: int


@dataclass(frozen=True)
class Points:
    label: str
    points: int


@dataclass(frozen=True)
class Explained:
    """A rule set's JSON as the rules page states it: every number, with its meaning."""

    rules: Rules
    grades: list[GradeBand]
    measures: list[Points]
    sanctions: list[Points]
    shared_records: list[Points]
    violation_factor: float
    complaint_upheld: int
    training: int
    correction: int
    repair_percent: int
    anchor_percent: int
    live_default: str
    live_grades: list[tuple[str, str]]


def _in_order(keys, order: list[str]) -> list[str]:
    """In the order given (the ladder's, the lists', the categories'), not the JSON's:
    PostgreSQL's jsonb keeps keys sorted by length and bytes. Keys the order lacks come last."""
    return sorted(keys, key=lambda key: (order.index(key) if key in order else len(order), key))


def _points(table: dict, labels, order: list[str]) -> list[Points]:
    return [Points(labels(key), int(table[key])) for key in _in_order(table, order)]


def _choice_label(choices, key: str):
    try:
        return choices(key).label
    except ValueError:
        return key


def explain_rules(row: RuleSet) -> Explained:
    rules = parse(row.rules)
    bands, ceiling = [], rules.maximum
    for name, floor in rules.grades:
        bands.append(GradeBand(name, max(floor, rules.minimum), ceiling))
        ceiling = floor - 1
    table = rules.points
    live = dict(rules.live_grades)
    default = live.pop("default", rules.grades[-1][0])
    return Explained(
        rules=rules,
        grades=bands,
        measures=_points(table.get("measure", {}), measure_label, list(MEASURE_LABELS)),
        sanctions=_points(
            table.get("sanction", {}),
            lambda key: _choice_label(SanctionKind, key),
            SanctionKind.values,
        ),
        shared_records=_points(
            table.get("shared_record", {}),
            lambda key: _choice_label(SharedKind, key),
            SharedKind.values,
        ),
        violation_factor=float(table.get("violation_factor", 1.0)),
        complaint_upheld=int(table.get("complaint_upheld", 0)),
        training=int(table.get("training", 0)),
        correction=int(table.get("correction", 0)),
        repair_percent=round(rules.repair_share * 100),
        anchor_percent=round(rules.anchor_share * 100),
        live_default=default,
        live_grades=[
            (_choice_label(Category, key), live[key]) for key in _in_order(live, Category.values)
        ],
    )
