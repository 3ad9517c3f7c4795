"""Credit events from every source, scores and their explanations, decay and repair, the rule
sets and their 7-day notice, the gates, and the SQL recompute against the Python formula."""

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.actors import Actor
from config.errors import Conflict
from credit import recompute, repair, rulesets, scoring
from credit.models import CreditEvent, CreditScore, RuleSet, ScoreChange
from credit.rules import DEFAULT_RULES, parse
from tests.factories import TEST_ACTOR, UserFactory, register_party


@pytest.fixture(autouse=True)
def fresh_rules():
    scoring.forget_rules()
    yield
    scoring.forget_rules()


@pytest.fixture
def lead():
    return Actor.for_user(UserFactory(roles=["compliance_lead"]))


_serial = iter(range(1, 10**9))


def _event(party, points, days_ago, rule="violation", kind="violation", value=None):
    return scoring.record(
        party=party,
        kind=kind,
        rule=rule,
        points=points,
        value=value,
        source=f"test:{next(_serial)}",
        occurred_at=timezone.now() - timedelta(days=days_ago),
    )


def test_a_new_party_has_the_base_score(db):
    party = register_party()
    result = scoring.explain(party)
    assert (result.score, result.grade) == (1000, "A")


def test_deductions_count_fully_then_fade_then_vanish(db):
    party = register_party()
    _event(party, -100, days_ago=10)
    assert scoring.explain(party).score == 900
    party2 = register_party()
    _event(party2, -100, days_ago=365 + 182.5)  # half-way through the fade
    assert scoring.explain(party2).score == 950
    party3 = register_party()
    _event(party3, -100, days_ago=800)
    assert scoring.explain(party3).score == 1000


def test_training_counts_for_a_year(db):
    party = register_party()
    _event(party, -50, days_ago=5)
    _event(party, 10, days_ago=100, rule="training", kind="training")
    _event(party, 10, days_ago=400, rule="training", kind="training")
    assert scoring.explain(party).score == 960


def test_evaluations_weigh_recent_ones_more_and_need_a_minimum(db):
    party = register_party()
    _event(party, 0, 1, rule="evaluation", kind="evaluation", value=Decimal("1"))
    _event(party, 0, 2, rule="evaluation", kind="evaluation", value=Decimal("1"))
    assert scoring.explain(party).evaluation_points == 0  # two are not enough
    _event(party, 0, 80, rule="evaluation", kind="evaluation", value=Decimal("5"))
    result = scoring.explain(party)
    # Recent one-star ratings outweigh an old five: the average is far below neutral.
    assert result.evaluation_count == 3 and result.evaluation_average < 2
    assert result.evaluation_points < -30


def test_a_reversal_cancels_exactly_and_keeps_the_history(db):
    party = register_party()
    event = _event(party, -80, days_ago=400)
    scoring.reverse(source=event.source, reason="申诉撤销")
    assert scoring.explain(party).score == 1000
    assert CreditEvent.objects.filter(party=party).count() == 2
    assert CreditEvent.objects.get(reverses=event).points == 80
    assert scoring.reverse(source=event.source, reason="again") == []


def test_an_event_recorded_twice_from_one_source_counts_once(db):
    party = register_party()
    now = timezone.now()
    for _ in range(2):
        scoring.record(
            party=party,
            kind="violation",
            rule="violation",
            points=-10,
            source="s:1",
            occurred_at=now,
        )
    assert CreditEvent.objects.filter(party=party).count() == 1


def test_the_score_is_stored_with_its_history_when_it_changes(db):
    party = register_party()
    _event(party, -200, days_ago=1)
    scoring.update_score(party.pk)
    scoring.update_score(party.pk)
    score = CreditScore.objects.get(party=party)
    assert (score.score, score.grade, score.deductions) == (800, "C", -200)
    assert ScoreChange.objects.filter(party=party).count() == 1


def test_an_agency_carries_a_share_of_its_current_anchors_violations(db):
    from anchors.models import AgencyMembership

    agency = register_party("agency")
    anchor = register_party("anchor")
    AgencyMembership.objects.create(anchor=anchor, agency=agency)
    _event(anchor, -100, days_ago=3)
    _event(anchor, 10, days_ago=3, rule="training", kind="training")
    assert scoring.explain(agency).score == 970
    scoring.update_score(anchor.pk)
    assert CreditScore.objects.get(party=agency).score == 970


def test_repair_gives_back_a_share_after_a_clean_period_once(db):
    party = register_party()
    event = _event(party, -100, days_ago=200)
    CreditEvent.objects.filter(pk=event.pk).update(recorded_at=timezone.now() - timedelta(days=200))
    assert repair.repair_sweep() == 1
    assert repair.repair_sweep() == 0
    assert scoring.explain(party).score == 950


def test_no_repair_while_deductions_keep_coming(db):
    party = register_party()
    _event(party, -100, days_ago=20)
    assert repair.repair_sweep() == 0


def _deduct(party, points, source, rule="violation", kind="violation"):
    return scoring.record(
        party=party,
        kind=kind,
        rule=rule,
        points=points,
        source=source,
        occurred_at=timezone.now(),
    )


def test_repair_gives_nothing_back_for_a_deduction_already_reversed(db, time_machine):
    time_machine.move_to("2025-01-10 10:00 +08:00", tick=False)
    party = register_party()
    _deduct(party, -300, "test:m1", rule="measure.blacklist", kind="measure")
    scoring.reverse(source="test:m1", reason="appeal reversed")
    time_machine.move_to("2025-07-15 10:00 +08:00", tick=False)
    assert repair.repair_sweep() == 0
    _deduct(party, -100, "test:v2")
    assert scoring.explain(party).score == 900


def test_repeated_repairs_give_back_the_share_once(db, time_machine):
    time_machine.move_to("2024-01-10 10:00 +08:00", tick=False)
    party = register_party()
    _deduct(party, -300, "test:s1", rule="sanction.serious_dishonesty", kind="sanction")
    for when in ("2024-07-15", "2025-01-15", "2025-07-20"):
        time_machine.move_to(f"{when} 10:00 +08:00", tick=False)
        repair.repair_sweep()
    repaired = list(CreditEvent.objects.filter(rule="repair").values_list("points", flat=True))
    assert repaired == [150]
    _deduct(party, -100, "test:v2")
    # 557 days on, the sanction counts 300 x 173/365 and its repair half of that.
    assert scoring.explain(party).score == 1000 - 142 + 71 - 100


def test_a_repair_fades_with_the_deduction_it_gives_back(db, time_machine):
    time_machine.move_to("2024-01-10 10:00 +08:00", tick=False)
    party = register_party()
    _deduct(party, -300, "test:v1")
    time_machine.move_to("2024-07-15 10:00 +08:00", tick=False)
    assert repair.repair_sweep() == 1
    assert scoring.explain(party).score == 850
    time_machine.move_to("2025-10-28 10:00 +08:00", tick=False)  # 657 days: a fifth counts
    assert scoring.explain(party).score == 1000 - 60 + 30
    time_machine.move_to("2026-01-10 10:00 +08:00", tick=False)  # 730 days: both gone
    _deduct(party, -100, "test:v2")
    assert scoring.explain(party).score == 900


def test_a_deduction_reversed_after_its_repair_takes_the_repair_back_too(db, time_machine):
    time_machine.move_to("2024-01-10 10:00 +08:00", tick=False)
    party = register_party()
    _deduct(party, -200, "test:m1", rule="measure.refer_judiciary", kind="measure")
    _deduct(party, -100, "test:v1")
    time_machine.move_to("2024-07-15 10:00 +08:00", tick=False)
    assert repair.repair_sweep() == 1
    assert scoring.explain(party).score == 850
    scoring.reverse(source="test:m1", reason="appeal reversed")
    assert scoring.explain(party).score == 950


def test_repair_gives_back_the_share_of_what_still_counts_of_a_fading_deduction(db, time_machine):
    time_machine.move_to("2024-01-10 10:00 +08:00", tick=False)
    party = register_party()
    _deduct(party, -200, "test:v1")
    time_machine.move_to("2025-07-15 10:00 +08:00", tick=False)  # 552 days: 178/365 counts
    assert repair.repair_sweep() == 1
    assert scoring.explain(party).score == 1000 - 98 + 49  # -97.5 + 48.8


@pytest.mark.parametrize("vendor_rows", [40])
def test_the_sql_recompute_gives_what_the_python_formula_gives(db, vendor_rows):
    from anchors.models import AgencyMembership

    rng = random.Random(7)
    parties = [register_party(rng.choice(["merchant", "anchor"])) for _ in range(vendor_rows)]
    agency = register_party("agency")
    for anchor in [p for p in parties if p.kind == "anchor"][:3]:
        AgencyMembership.objects.create(anchor=anchor, agency=agency)
    for party in parties:
        for _ in range(rng.randint(0, 6)):
            kind = rng.choice(["violation", "measure", "training", "evaluation", "repair"])
            if kind == "evaluation":
                _event(
                    party,
                    0,
                    rng.uniform(0, 120),
                    "evaluation",
                    "evaluation",
                    Decimal(rng.randint(1, 5)),
                )
            elif kind == "training":
                _event(party, 10, rng.uniform(0, 500), "training", "training")
            elif kind == "repair":
                _event(party, rng.randint(1, 40), rng.uniform(0, 800), "repair", "repair")
            else:
                rule = "violation" if kind == "violation" else "measure.live_suspension"
                _event(party, -rng.randint(1, 300), rng.uniform(0, 900), rule, kind)
    now = timezone.now()
    recompute.recompute_all(now=now)
    for party in [*parties, agency]:
        stored = CreditScore.objects.get(party=party)
        expected = scoring.explain(party, now=now)
        assert (stored.score, stored.grade) == (expected.score, expected.grade), party
    # A second run changes nothing.
    assert recompute.recompute_all(now=now) == 0


def test_rule_sets_take_effect_no_sooner_than_seven_days_after_publication(db, lead):
    draft = rulesets.ruleset_draft(title="v2", rules=DEFAULT_RULES, summary="更严", actor=lead)
    with pytest.raises(ValidationError):
        rulesets.ruleset_publish(
            rule_set=draft, effective_from=timezone.now() + timedelta(days=6), actor=lead
        )
    start = timezone.now() + timedelta(days=7, minutes=1)
    rulesets.ruleset_publish(rule_set=draft, effective_from=start, actor=lead)
    assert scoring.rule_set_in_force()[0].version == 1
    assert scoring.rule_set_in_force(start + timedelta(seconds=1))[0].version == 2


def test_a_published_rule_set_is_never_changed(db, lead):
    with pytest.raises(Conflict):
        rulesets.ruleset_update(rule_set=RuleSet.objects.get(version=1), title="x", actor=lead)


def test_malformed_rules_are_refused(db, lead):
    bad = {**DEFAULT_RULES, "scale": {**DEFAULT_RULES["scale"], "grades": [["A", 0], ["B", 500]]}}
    with pytest.raises(ValidationError):
        rulesets.ruleset_draft(title="bad", rules=bad, summary="", actor=lead)
    with pytest.raises(ValidationError):
        parse({"scale": {}})


def test_a_reviewer_cannot_publish_rules(db):
    reviewer = Actor.for_user(UserFactory(roles=["compliance_reviewer"]))
    with pytest.raises(PermissionDenied):
        rulesets.ruleset_draft(title="x", rules=DEFAULT_RULES, summary="", actor=reviewer)


def test_sanctions_import_records_events_for_known_identities(db):
    from datetime import date

    from accounts.demo import make_resident_id
    from credit.services import sanctions_import_csv

    identifier = make_resident_id("330106", date(1990, 1, 1), 77, female=True)
    anchor = register_party("anchor", identifier=identifier)
    content = (
        "kind,name,identifier,authority,reference,decided_on,ends_on\n"
        f"serious_dishonesty,某某,{identifier},某局,某罚〔2026〕1号,2026-01-05,\n"
    ).encode()
    sanctions_import_csv(content=content, actor=TEST_ACTOR)
    event = CreditEvent.objects.get(party=anchor)
    assert (event.kind, event.rule, event.points) == (
        "sanction",
        "sanction.serious_dishonesty",
        -300,
    )
