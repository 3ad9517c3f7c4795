"""Every source records its credit events, priced under the rules in force, and undoes them with
reversing events (issue 7: "every event kind")."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from complaints import services as complaint_services
from credit import scoring
from credit.models import CreditEvent, CreditScore
from enforcement import services


def _events(party, **filters):
    return list(
        CreditEvent.objects.filter(party=party, **filters).values_list("kind", "rule", "points")
    )


def test_a_confirmed_violation_costs_its_catalogue_points(world):
    violation = world.violation("false_publicity")  # 60 points in the catalogue
    assert _events(world.merchant) == [("violation", "violation", -60)]
    event = CreditEvent.objects.get(party=world.merchant)
    assert event.source == f"enforcement.violation:{violation.pk}"
    assert event.rule_set.version == 1


def test_an_executed_measure_costs_the_rule_sets_points(world):
    world.propose(kind="live_suspension", term_days=7)
    assert ("measure", "measure.live_suspension", -50) in _events(world.merchant)


def test_the_worker_brings_the_score_up_to_date_after_commit(world, committed):
    with committed():
        world.propose(kind="live_suspension", term_days=7)
    assert CreditScore.objects.get(party=world.merchant).score == 1000 - 60 - 50


def test_a_reversal_on_appeal_gives_back_the_measure_and_the_violation(world):
    measure = world.propose(kind="live_suspension", term_days=7)
    appeal = services.appeal_file(
        measure=measure, grounds="误判。", channel="api", actor=world.lead_actor
    )
    services.appeal_decide(
        appeal=appeal, reverse=True, reason="回放无违规。", actor=world.lead2_actor
    )
    assert sorted(_events(world.merchant, kind="reversal")) == [
        ("reversal", "measure.live_suspension", 50),
        ("reversal", "violation", 60),
    ]
    assert scoring.explain(world.merchant).score == 1000


def test_a_notice_corrected_in_time_gives_points_back(world):
    violation = world.violation("absolute_terms")
    measure = world.propose(
        violation, kind="notice_to_correct", correct_by=timezone.localdate() + timedelta(days=3)
    )
    services.measure_mark_corrected(
        measure=measure, note="已删除违规用语。", actor=world.lead_actor
    )
    assert ("repair", "correction", 5) in _events(world.merchant)


def test_an_upheld_complaint_counts_against_the_parties_it_names(world):
    from tests.enforcement.test_sources import _decided_case

    _decided_case(world, "refund", refund_fen=1000)
    assert _events(world.merchant) == [("complaint_upheld", "complaint_upheld", -10)]
    assert _events(world.anchor) == [("complaint_upheld", "complaint_upheld", -10)]


def test_an_evaluation_carries_its_stars_and_hiding_it_takes_them_out(world):
    evaluation, _created = complaint_services.evaluation_submit(
        merchant=world.merchant,
        anchor=world.anchor,
        order_number="ORD-9",
        stars_description=5,
        stars_service=4,
        stars_logistics=3,
        stars_anchor_honesty=2,
    )
    values = dict(CreditEvent.objects.filter(kind="evaluation").values_list("party_id", "value"))
    assert values == {world.merchant.pk: Decimal("4.00"), world.anchor.pk: Decimal("2.00")}
    complaint_services.evaluation_hide(
        evaluation=evaluation, reason="刷评。", actor=world.reviewer_actor
    )
    assert CreditEvent.objects.filter(kind="reversal", rule="evaluation").count() == 2
    assert scoring.explain(world.anchor).evaluation_count == 0


def test_training_counts_for_the_anchor(world):
    from anchors.services import training_record
    from tests.factories import TEST_ACTOR

    training_record(
        anchor=world.anchor,
        kind="annual",
        completed_on=timezone.localdate() - timedelta(days=10),
        provider="平台培训",
        hours=Decimal("2"),
        actor=TEST_ACTOR,
    )
    assert _events(world.anchor) == [("training", "training", 10)]
