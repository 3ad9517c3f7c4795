"""Credit events and scores: every source records its events here; the worker brings the score up
to date after each commit; `explain` shows where a score comes from.

Events are priced when recorded, under the rule set in force, and never edited. Undoing one --
an appeal's reversal, a hidden evaluation, a revoked shared record -- records a reversing event
with the opposite points and the same date, so that the two fade together and cancel exactly.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Party, PartyKind
from credit.models import CreditEvent, CreditScore, EventKind, RuleSet, ScoreChange
from credit.rules import DEFAULT_RULES, FIRST_EFFECTIVE, Result, Rules, compute, parse

logger = logging.getLogger(__name__)

FIRST_TITLE = "直播主体信用评价规则（第一版）"
# The rule set in force is read on every event and every score; each process keeps it this long.
RULES_CACHE_SECONDS = 60
_cache: tuple[float, RuleSet | None, Rules | None] = (0.0, None, None)


def rule_set_in_force(now: datetime | None = None) -> tuple[RuleSet, Rules]:
    """The latest published rule set whose start has come."""
    global _cache
    loaded_at, row, rules = _cache
    if now is None and row is not None and time.monotonic() - loaded_at < RULES_CACHE_SECONDS:
        return row, rules
    row = (
        RuleSet.objects.filter(
            published_at__isnull=False, effective_from__lte=now or timezone.now()
        )
        .order_by("-effective_from", "-version")
        .first()
    )
    if row is None and not RuleSet.objects.exists():
        # The first rule set is seeded by a migration; a database emptied since (a test's flush,
        # a restore of data only) gets it again rather than failing every event.
        row = _first_rule_set()
    if row is None:
        raise RuleSet.DoesNotExist("No credit rule set is in force.")
    rules = parse(row.rules)
    if now is None:
        _cache = (time.monotonic(), row, rules)
    return row, rules


def _first_rule_set() -> RuleSet:
    now = FIRST_EFFECTIVE
    row, _created = RuleSet.objects.get_or_create(
        version=1,
        defaults={
            "title": FIRST_TITLE,
            "rules": DEFAULT_RULES,
            "created_by": "system:credit",
            "published_at": now,
            "published_by": "system:credit",
            "effective_from": now,
        },
    )
    return row


def forget_rules() -> None:
    global _cache
    _cache = (0.0, None, None)


# --- recording -------------------------------------------------------------------------------


def record(
    *,
    party: Party | int,
    kind: str,
    rule: str,
    source: str,
    occurred_at: datetime,
    points: int = 0,
    value: Decimal | float | None = None,
    description: str = "",
) -> CreditEvent | None:
    """Record an event once per (party, source, rule); a listener that runs twice records it once.
    The score follows after commit."""
    party_id = party if isinstance(party, int) else party.pk
    rule_set, _rules = rule_set_in_force()
    try:
        with transaction.atomic():
            event = CreditEvent.objects.create(
                party_id=party_id,
                kind=kind,
                rule=rule,
                points=points,
                value=value,
                rule_set=rule_set,
                source=source,
                description=description[:300],
                occurred_at=occurred_at,
            )
    except IntegrityError:
        return None
    _score_after_commit(party_id)
    return event


def reverse(*, source: str, reason: str) -> list[CreditEvent]:
    """Undo every event recorded from a source (and not undone yet)."""
    reversed_events = []
    for event in CreditEvent.objects.filter(source=source, reversed_by__isnull=True).exclude(
        kind=EventKind.REVERSAL
    ):
        try:
            with transaction.atomic():
                reversal = CreditEvent.objects.create(
                    party_id=event.party_id,
                    kind=EventKind.REVERSAL,
                    rule=event.rule,
                    points=-event.points,
                    rule_set=event.rule_set,
                    source=f"reversal:{event.pk}",
                    description=reason[:300],
                    occurred_at=event.occurred_at,
                    reverses=event,
                )
        except IntegrityError:
            continue
        reversed_events.append(reversal)
        _score_after_commit(event.party_id)
    return reversed_events


def _score_after_commit(party_id: int) -> None:
    from credit import tasks

    transaction.on_commit(lambda: tasks.update_score.delay(party_id))


# --- pricing ---------------------------------------------------------------------------------


def price(rule: str, *, catalogue_points: int = 0) -> int:
    """The points the rule set in force gives an event under this rule."""
    _row, rules = rule_set_in_force()
    table = rules.points
    if rule == "violation":
        return -round(catalogue_points * float(table.get("violation_factor", 1.0)))
    head, _dot, tail = rule.partition(".")
    if head in ("measure", "sanction", "shared"):
        key = {"shared": "shared_record"}.get(head, head)
        return int(table.get(key, {}).get(tail, 0))
    return int(table.get(rule, 0))


# --- scores ----------------------------------------------------------------------------------

AGENCY_RULES = Q(rule="violation") | Q(rule__startswith="measure.")


def _events(party_id: int):
    reversed_evaluations = CreditEvent.objects.filter(
        party_id=party_id, kind=EventKind.REVERSAL, rule="evaluation"
    ).values("reverses_id")
    return list(
        CreditEvent.objects.filter(party_id=party_id)
        .exclude(kind=EventKind.EVALUATION, pk__in=reversed_evaluations)
        .exclude(kind=EventKind.REVERSAL, rule="evaluation")
        .only("id", "kind", "rule", "points", "value", "occurred_at", "description")
    )


def _anchor_events(agency_id: int):
    from anchors.models import AgencyMembership

    anchors = AgencyMembership.objects.filter(agency_id=agency_id, ended_at__isnull=True).values(
        "anchor_id"
    )
    return list(
        CreditEvent.objects.filter(AGENCY_RULES, party_id__in=anchors).only(
            "id", "kind", "rule", "points", "value", "occurred_at", "description"
        )
    )


def explain(party: Party, *, now: datetime | None = None) -> Result:
    """The score as the rules compute it now, with every event's part in it."""
    now = now or timezone.now()
    _row, rules = rule_set_in_force()
    anchor_events = _anchor_events(party.pk) if party.kind == PartyKind.AGENCY else ()
    return compute(rules, _events(party.pk), now=now, anchor_events=anchor_events)


@transaction.atomic
def update_score(
    party_id: int, *, cause: str = "event", now: datetime | None = None
) -> CreditScore:
    """Bring one party's score up to date; an anchor's agency follows."""
    party = Party.objects.get(pk=party_id)
    row, _rules = rule_set_in_force()
    result = explain(party, now=now)
    score = _store(party_id, result, row, cause)
    if party.kind == PartyKind.ANCHOR:
        from anchors.models import AgencyMembership

        agency_id = (
            AgencyMembership.objects.filter(anchor_id=party_id, ended_at__isnull=True)
            .values_list("agency_id", flat=True)
            .first()
        )
        if agency_id is not None:
            agency = Party.objects.get(pk=agency_id)
            _store(agency_id, explain(agency, now=now), row, f"anchor:{party_id}")
    return score


def _store(party_id: int, result: Result, row: RuleSet, cause: str) -> CreditScore:
    current = CreditScore.objects.select_for_update().filter(party_id=party_id).first()
    values = {
        "score": result.score,
        "grade": result.grade,
        "rule_set": row,
        "deductions": result.deductions,
        "additions": result.additions,
        "evaluation_points": result.evaluation_points,
        "computed_at": timezone.now(),
    }
    if current is None:
        current = CreditScore.objects.create(party_id=party_id, **values)
        changed = True
    else:
        changed = (current.score, current.grade, current.rule_set_id) != (
            result.score,
            result.grade,
            row.pk,
        )
        for name, value in values.items():
            setattr(current, name, value)
        current.save()
    if changed:
        ScoreChange.objects.create(
            party_id=party_id, score=result.score, grade=result.grade, rule_set=row, cause=cause
        )
    return current
