"""Every source records its credit events, priced under the rules in force, and undoes them with
reversing events (issue 7: "every event kind")."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.actors import Actor
from complaints import services as complaint_services
from config.errors import Conflict
from credit import scoring
from credit.models import CreditEvent, CreditScore, EventKind
from enforcement import services
from enforcement.models import MeasureEvent, MeasureStatus
from tests.concurrency import attempt_while_held
from tests.factories import UserFactory


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


def test_the_violation_stays_counted_while_another_of_its_measures_awaits_approval(
    world, committed
):
    violation = world.violation("offline_transaction")
    warning = world.propose(violation, kind="warning", departure_reason="情节较轻。")
    deduction = world.propose(violation, kind="deposit_deduction", amount_fen=500_000)
    assert deduction.status == MeasureStatus.PROPOSED
    appeal = services.appeal_file(
        measure=warning, grounds="警告有误。", channel="api", actor=world.lead_actor
    )
    third = Actor.for_user(UserFactory(roles=["compliance_lead"]))
    services.appeal_decide(appeal=appeal, reverse=True, reason="警告撤销。", actor=third)
    with committed():
        services.measure_approve(measure=deduction, actor=world.lead_actor)
    deduction.refresh_from_db()
    assert deduction.status == MeasureStatus.EXECUTED
    charged = CreditEvent.objects.get(
        source=f"enforcement.violation:{violation.pk}", rule="violation"
    )
    assert not CreditEvent.objects.filter(reverses=charged).exists()


def _reversed_on_appeal(world, measure) -> None:
    appeal = services.appeal_file(
        measure=measure, grounds="措施有误。", channel="api", actor=world.lead_actor
    )
    services.appeal_decide(appeal=appeal, reverse=True, reason="撤销。", actor=world.lead2_actor)


def _violation_reversals(violation) -> int:
    return CreditEvent.objects.filter(
        reverses__source=f"enforcement.violation:{violation.pk}"
    ).count()


def test_the_violation_gives_its_points_back_once_the_measure_it_waited_for_is_rejected(
    world, committed
):
    violation = world.violation("offline_transaction")
    warning = world.propose(violation, kind="warning", departure_reason="情节较轻。")
    deduction = world.propose(violation, kind="deposit_deduction", amount_fen=500_000)
    _reversed_on_appeal(world, warning)
    assert _violation_reversals(violation) == 0  # the deduction still answers for it
    with committed():
        services.measure_reject(measure=deduction, actor=world.lead_actor, note="金额过高。")
    assert _violation_reversals(violation) == 1
    assert CreditScore.objects.get(party=world.merchant).score == 1000
    with pytest.raises(Conflict):
        services.measure_reject(measure=deduction, actor=world.lead_actor, note="再次驳回。")
    assert _violation_reversals(violation) == 1


def test_a_rejected_deduction_leaves_the_points_while_the_warning_stands(world):
    violation = world.violation("offline_transaction")
    world.propose(violation, kind="warning", departure_reason="情节较轻。")
    deduction = world.propose(violation, kind="deposit_deduction", amount_fen=500_000)
    services.measure_reject(measure=deduction, actor=world.lead_actor, note="金额过高。")
    assert _violation_reversals(violation) == 0


def test_a_violation_whose_only_measure_is_rejected_keeps_its_points(world):
    """Rejecting a proposed sanction is not a finding that the violation was wrong: only a
    reversal on appeal takes the violation's points back."""
    deduction = world.deduction()
    services.measure_reject(measure=deduction, actor=world.lead_actor, note="金额过高。")
    assert _violation_reversals(deduction.violation) == 0


def test_a_reversal_after_a_rejection_takes_the_violation_back_once(world):
    violation = world.violation("offline_transaction")
    warning = world.propose(violation, kind="warning", departure_reason="情节较轻。")
    suspension = world.propose(violation, kind="live_suspension", term_days=15)
    deduction = world.propose(violation, kind="deposit_deduction", amount_fen=500_000)
    _reversed_on_appeal(world, warning)
    services.measure_reject(measure=deduction, actor=world.lead_actor, note="金额过高。")
    assert _violation_reversals(violation) == 0  # the suspension stands
    _reversed_on_appeal(world, suspension)
    assert _violation_reversals(violation) == 1
    assert scoring.explain(world.merchant).score == 1000


def test_a_measure_whose_term_ran_out_still_stands_for_its_violation(world):
    violation = world.violation()
    world.propose(violation, kind="live_suspension", term_days=7)
    services.lift_expired(now=timezone.now() + timedelta(days=8))
    warning = world.propose(violation, kind="warning", departure_reason="补充警告。")
    appeal = services.appeal_file(
        measure=warning, grounds="警告有误。", channel="api", actor=world.lead_actor
    )
    services.appeal_decide(
        appeal=appeal, reverse=True, reason="警告撤销。", actor=world.lead2_actor
    )
    assert _events(world.merchant, kind="reversal") == [("reversal", "measure.warning", 5)]


def test_a_notice_corrected_in_time_gives_points_back(world):
    violation = world.violation("absolute_terms")
    measure = world.propose(
        violation, kind="notice_to_correct", correct_by=timezone.localdate() + timedelta(days=3)
    )
    services.measure_mark_corrected(
        measure=measure, note="已删除违规用语。", actor=world.lead_actor
    )
    assert ("repair", "correction", 5) in _events(world.merchant)


@pytest.mark.parametrize(
    ("corrected_at", "in_time"),
    [
        ("2026-03-05 23:30 +08:00", True),  # the last day, Beijing time
        ("2026-03-06 00:30 +08:00", False),  # still the 5th in UTC, the 6th in Beijing
    ],
)
def test_only_a_correction_by_the_notices_date_gives_points_back(
    world, time_machine, corrected_at, in_time
):
    time_machine.move_to("2026-03-02 10:00 +08:00", tick=False)
    violation = world.violation("absolute_terms")
    notice = world.propose(
        violation, kind="notice_to_correct", correct_by=timezone.localdate() + timedelta(days=3)
    )
    time_machine.move_to(corrected_at, tick=False)
    services.measure_mark_corrected(measure=notice, actor=world.lead_actor, note="已整改")
    notice.refresh_from_db()
    assert notice.status == MeasureStatus.LIFTED
    event = notice.events.get(kind=MeasureEvent.Kind.CORRECTED)
    assert event.data["in_time"] is in_time
    repaired = CreditEvent.objects.filter(kind=EventKind.REPAIR, rule="correction").exists()
    assert repaired is in_time


def test_a_notice_corrected_after_its_escalation_is_lifted_without_points_back(world, time_machine):
    time_machine.move_to("2026-03-02 10:00 +08:00", tick=False)
    violation = world.violation("absolute_terms")
    notice = world.propose(
        violation, kind="notice_to_correct", correct_by=timezone.localdate() + timedelta(days=3)
    )
    time_machine.move_to("2026-03-20 10:00 +08:00", tick=False)
    assert services.escalate_overdue_notices() == 1
    services.measure_mark_corrected(measure=notice, actor=world.lead_actor, note="已整改")
    notice.refresh_from_db()
    assert (notice.status, notice.corrected_at) == (MeasureStatus.LIFTED, timezone.now())
    assert not CreditEvent.objects.filter(kind=EventKind.REPAIR, rule="correction").exists()


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
        # Forwarded by the platform with its order: it counts at once.
        source="api",
        platform_ref="ev-9",
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


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_rejection_racing_the_reversal_it_follows_still_takes_the_violation_back(world):
    """The reversal of the warning holds the violation's lock and has seen the deduction still
    standing; the deduction's rejection, at that moment, must wait for it and then see the
    warning reversed. Read before the lock, it saw neither and the points stayed for good."""
    violation = world.violation("offline_transaction")
    warning = world.propose(violation, kind="warning", departure_reason="情节较轻。")
    deduction = world.propose(violation, kind="deposit_deduction", amount_fen=500_000)

    # The rejection may not finish while the reversal holds the violation (it would have read
    # the warning as not yet reversed).
    finished_early = attempt_while_held(
        lambda: _reversed_on_appeal(world, warning),
        lambda: services.measure_reject(
            measure=deduction, actor=world.lead_actor, note="金额过高。"
        ),
    )
    assert not finished_early, "the rejection did not wait for the reversal's lock"
    assert _violation_reversals(violation) == 1
