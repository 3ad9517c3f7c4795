"""The disposal ladder through the services: proposal, four-eyes approval, execution and its
effects, correction, escalation and expiry."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import Restriction, WebhookEndpoint
from config.errors import Conflict
from enforcement import services
from enforcement.models import (
    DepositAccount,
    LedgerEntry,
    Measure,
    MeasureEvent,
    MeasureStatus,
)
from merchants.models import ListingStatus


def test_a_light_measure_is_approved_and_executed_at_once(world, committed):
    with committed():
        measure = world.propose(
            kind="live_suspension", term_days=7, products=[], reason="虚假宣传。"
        )
    measure.refresh_from_db()
    assert measure.status == MeasureStatus.EXECUTED
    assert not measure.severe
    restriction = Restriction.objects.get(party=world.merchant, kind="live")
    assert restriction.ends_at == measure.ends_at
    assert measure.ends_at - measure.starts_at == timedelta(days=7)
    kinds = list(measure.events.values_list("kind", flat=True))
    assert kinds[:4] == ["proposed", "approved", "execution_started", "executed"]
    assert measure.statement_sent_at is not None


def test_the_default_is_shown_and_departing_from_it_needs_a_reason(world):
    violation = world.violation("false_publicity")
    with pytest.raises(ValidationError) as error:
        world.propose(violation, kind="live_suspension", term_days=10)
    assert "departure_reason" in error.value.message_dict
    assert not Measure.objects.exists()
    measure = world.propose(
        violation, kind="live_suspension", term_days=10, departure_reason="情节较重。"
    )
    assert measure.departs_from_default


def test_a_measure_the_catalogue_does_not_allow_is_refused(world):
    violation = world.violation("harassing_ads")  # light measures only
    with pytest.raises(ValidationError) as error:
        world.propose(violation, kind="blacklist", term_days=30, departure_reason="x")
    assert "kind" in error.value.message_dict
    assert not Measure.objects.exists()


@pytest.mark.parametrize("amount", [0, -5, 10**12])
def test_a_deduction_amount_outside_policy_is_refused(world, amount):
    with pytest.raises(ValidationError) as error:
        world.deduction(amount_fen=amount)
    assert "amount_fen" in error.value.message_dict
    assert not Measure.objects.exists()


def test_a_severe_measure_waits_for_a_lead_who_did_not_propose_it(world, committed):
    services.top_up(
        party=world.merchant, amount_fen=300_000, reference="pay-1", actor=world.lead_actor
    )
    measure = world.deduction(amount_fen=100_000, actor=world.lead_actor)
    assert measure.status == MeasureStatus.PROPOSED and measure.severe
    with pytest.raises(PermissionDenied):
        services.measure_approve(measure=measure, actor=world.lead_actor)
    with pytest.raises(PermissionDenied):
        services.measure_approve(measure=measure, actor=world.reviewer_actor)
    measure.refresh_from_db()
    assert measure.status == MeasureStatus.PROPOSED
    with committed():
        services.measure_approve(measure=measure, actor=world.lead2_actor, note="同意。")
    measure.refresh_from_db()
    # Eager tasks: the deduction ran after commit.
    assert measure.status == MeasureStatus.EXECUTED
    entry = LedgerEntry.objects.get(measure=measure)
    assert entry.amount_fen == -100_000 and entry.balance_after_fen == 200_000


def test_a_deduction_beyond_the_balance_takes_what_there_is(world, committed):
    services.top_up(
        party=world.merchant, amount_fen=30_000, reference="pay-2", actor=world.lead_actor
    )
    measure = world.deduction(amount_fen=100_000)
    with committed():
        services.measure_approve(measure=measure, actor=world.lead_actor)
    entry = LedgerEntry.objects.get(measure=measure)
    assert (entry.amount_fen, entry.shortfall_fen, entry.balance_after_fen) == (-30_000, 70_000, 0)
    world.merchant.deposit_account.refresh_from_db()
    assert world.merchant.deposit_account.shortfall_fen == 70_000


def test_the_deduction_worker_is_idempotent(world):
    services.top_up(
        party=world.merchant, amount_fen=300_000, reference="pay-3", actor=world.lead_actor
    )
    measure = world.deduction(amount_fen=100_000)
    services.measure_approve(measure=measure, actor=world.lead_actor)
    assert services.deduction_carry_out(measure.pk) == "executed"
    for _ in range(3):
        assert services.deduction_carry_out(measure.pk) == "not executing"
    assert LedgerEntry.objects.filter(kind="deduction").count() == 1


def test_a_takedown_removes_the_products_and_tells_the_platform(world):
    WebhookEndpoint.objects.create(name="platform", url="http://127.0.0.1:9/", secret="s")
    violation = world.violation("prohibited_goods")
    measure = world.propose(violation, kind="remove_content", products=[world.product])
    world.product.refresh_from_db()
    assert world.product.listing_status == ListingStatus.REMOVED
    topics = set(measure.party.restrictions.values_list("kind", flat=True))
    assert topics == set()
    from accounts.models import WebhookDelivery

    assert set(WebhookDelivery.objects.values_list("topic", flat=True)) == {
        "product.removed",
        "measure.executed",
    }


def test_another_partys_product_is_refused(world):
    from merchants.services import product_register
    from tests.factories import TEST_ACTOR, register_party

    other = register_party("merchant", name="别家")
    foreign = product_register(
        merchant=other, platform_ref="x", title="x", category="apparel", actor=TEST_ACTOR
    )
    violation = world.violation("prohibited_goods")
    with pytest.raises(ValidationError):
        world.propose(violation, kind="remove_content", products=[foreign])


def test_notice_to_correct_escalates_once_when_overdue(world):
    violation = world.violation("absolute_terms")
    measure = world.propose(
        violation, kind="notice_to_correct", correct_by=timezone.localdate() + timedelta(days=3)
    )
    assert measure.status == MeasureStatus.EXECUTED
    later = timezone.localdate() + timedelta(days=4)
    assert services.escalate_overdue_notices(today=later) == 1
    assert services.escalate_overdue_notices(today=later) == 0
    assert MeasureEvent.objects.filter(measure=measure, kind="escalated").count() == 1


def test_terms_are_lifted_when_they_end(world):
    measure = world.propose(kind="live_suspension", term_days=7)
    assert services.lift_expired(now=timezone.now() + timedelta(days=6)) == 0
    assert services.lift_expired(now=timezone.now() + timedelta(days=8)) == 1
    measure.refresh_from_db()
    assert measure.status == MeasureStatus.LIFTED


def test_only_a_confirmed_violation_takes_measures(world):
    violation = services.violation_raise(
        party=world.merchant, source="reviewer", facts="x", actor=world.reviewer_actor
    )
    with pytest.raises(Conflict):
        world.propose(violation, kind="warning")


def test_the_statement_is_sent_to_the_party_in_both_languages(world, mailoutbox, committed):
    from tests.liverooms.conftest import approved_merchant

    merchant = approved_merchant(world.reviewer_actor)
    file = merchant.registration_file
    file.contact_email = "shop@example.com"
    file.save(update_fields=["contact_email"])
    with committed():
        world.propose(world.violation(party=merchant), kind="live_suspension", term_days=7)
    [message] = [m for m in mailoutbox if "shop@example.com" in m.to]
    assert "处置决定书" in message.body and "Statement of reasons" in message.body
    assert "/statements/" in message.body


def test_a_listing_restriction_ends_with_its_term_and_the_product_is_listed_again(world):
    violation = world.violation("missing_conformity")
    world.propose(violation, kind="restrict_listing", term_days=30, products=[world.product])
    world.product.refresh_from_db()
    assert world.product.listing_status == ListingStatus.RESTRICTED
    services.lift_expired(now=timezone.now() + timedelta(days=31))
    world.product.refresh_from_db()
    assert world.product.listing_status == ListingStatus.LISTED


def test_a_takedown_reversed_on_appeal_lists_the_product_again(world):
    violation = world.violation("prohibited_goods")
    measure = world.propose(violation, kind="remove_content", products=[world.product])
    appeal = services.appeal_file(
        measure=measure, grounds="商品有合格证明。", channel="api", actor=world.lead_actor
    )
    services.appeal_decide(
        appeal=appeal, reverse=True, reason="证明有效。", actor=world.lead2_actor
    )
    world.product.refresh_from_db()
    assert world.product.listing_status == ListingStatus.LISTED


def test_the_statement_of_a_short_deduction_says_what_was_taken_and_what_is_owed(world, committed):
    from enforcement.services import statements

    services.top_up(party=world.merchant, amount_fen=30_000, reference="p", actor=world.lead_actor)
    measure = world.deduction(amount_fen=100_000)
    with committed():
        services.measure_approve(measure=measure, actor=world.lead_actor)
    measure.refresh_from_db()
    text = statements.render(measure, "zh-hans")
    assert "扣除保证金：1,000.00 元，实际扣除 300.00 元" in text and "尚欠 700.00 元" in text
    assert "700.00 yuan" in statements.render(measure, "en")


def test_an_approval_request_already_approved_is_not_mailed(world, mailoutbox, committed):
    from enforcement import tasks
    from enforcement.models import Notification

    measure = world.deduction(amount_fen=100)
    services.measure_approve(measure=measure, actor=world.lead_actor)
    notification = Notification.objects.get(kind="approval_requested", object_id=measure.pk)
    assert tasks.notify(notification.pk) == "no longer due"
    assert not [m for m in mailoutbox if "待审批" in m.subject]


# --- four eyes for long terms ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "term_days", "severe"),
    [
        ("fixed_term_ban", 7, True),
        ("fixed_term_ban", 3650, True),
        ("restrict_listing", 30, False),
        ("restrict_listing", 31, True),
        ("traffic_restriction", 30, False),
        ("traffic_restriction", 365, True),
        ("live_suspension", 30, False),
        ("live_suspension", 31, True),
        ("live_suspension", None, True),
    ],
)
def test_every_ban_and_any_term_beyond_a_month_waits_for_a_lead(world, kind, term_days, severe):
    products = [world.product] if kind == "restrict_listing" else []
    measure = world.propose(
        world.violation("false_publicity"),
        kind=kind,
        term_days=term_days,
        products=products,
        departure_reason="按情节确定期限。",
    )
    assert measure.severe is severe
    assert measure.status == (MeasureStatus.PROPOSED if severe else MeasureStatus.EXECUTED)
    assert Restriction.objects.filter(party=world.merchant).exists() is not severe


# --- takedowns that overlap -----------------------------------------------------------------------


def _restrict(world, days: int):
    return world.propose(
        world.violation("false_publicity"),
        kind="restrict_listing",
        term_days=days,
        products=[world.product],
        departure_reason="限制商品上架。",
    )


def _listing(world) -> str:
    world.product.refresh_from_db()
    return world.product.listing_status


def test_a_product_stays_restricted_while_a_later_restriction_still_holds_it(world):
    _restrict(world, 5)
    later = _restrict(world, 20)
    services.lift_expired(now=timezone.now() + timedelta(days=6))
    later.refresh_from_db()
    assert later.status == MeasureStatus.EXECUTED
    assert _listing(world) == ListingStatus.RESTRICTED
    services.lift_expired(now=timezone.now() + timedelta(days=21))
    # Listed again: the listing before the first restriction, not the second one's "before".
    assert _listing(world) == ListingStatus.LISTED


def test_reversing_one_restriction_keeps_the_product_under_the_other(world):
    first = _restrict(world, 20)
    second = _restrict(world, 30)
    appeal = services.appeal_file(
        measure=first, grounds="已补齐合格证明。", channel="api", actor=world.lead_actor
    )
    services.appeal_decide(
        appeal=appeal, reverse=True, reason="证明有效。", actor=world.lead2_actor
    )
    assert _listing(world) == ListingStatus.RESTRICTED
    assert MeasureEvent.objects.get(measure=first, kind="reversed").data["listing_restored"] == {}
    services.lift_expired(now=timezone.now() + timedelta(days=31))
    second.refresh_from_db()
    assert second.status == MeasureStatus.LIFTED
    assert _listing(world) == ListingStatus.LISTED


def test_a_restriction_does_not_bring_a_removed_product_back(world):
    removal = world.propose(
        world.violation("prohibited_goods"), kind="remove_content", products=[world.product]
    )
    _restrict(world, 10)
    assert _listing(world) == ListingStatus.REMOVED
    services.lift_expired(now=timezone.now() + timedelta(days=11))
    assert _listing(world) == ListingStatus.REMOVED  # the removal still holds it
    appeal = services.appeal_file(
        measure=removal, grounds="商品合法。", channel="api", actor=world.lead_actor
    )
    services.appeal_decide(
        appeal=appeal, reverse=True, reason="证明有效。", actor=world.lead2_actor
    )
    assert _listing(world) == ListingStatus.LISTED


# --- one standing measure of a kind per violation -------------------------------------------------


def test_a_second_measure_of_a_kind_on_one_violation_is_refused(world, committed):
    services.top_up(party=world.merchant, amount_fen=500_000, reference="p", actor=world.lead_actor)
    violation = world.violation("offline_transaction")
    deduction = dict(kind="deposit_deduction", amount_fen=100_000, departure_reason="按情节。")
    first = world.propose(violation, **deduction)
    with pytest.raises(Conflict) as refused:
        world.propose(violation, **deduction)
    assert f"M{first.pk}" in str(refused.value)
    with committed():
        services.measure_approve(measure=first, actor=world.lead_actor)
    with pytest.raises(Conflict):
        world.propose(violation, **deduction)
    assert Measure.objects.filter(violation=violation).count() == 1
    assert DepositAccount.objects.get(party=world.merchant).balance_fen == 400_000
    # Another kind on the same violation is a different step of the ladder.
    world.propose(violation, kind="live_suspension", term_days=15)


def test_a_rejected_measure_does_not_stand_in_the_way_of_a_new_one(world):
    violation = world.violation("offline_transaction")
    deduction = dict(kind="deposit_deduction", amount_fen=100_000, departure_reason="按情节。")
    first = world.propose(violation, **deduction)
    services.measure_reject(measure=first, actor=world.lead_actor, note="金额过高。")
    second = world.propose(violation, **dict(deduction, amount_fen=50_000))
    assert second.status == MeasureStatus.PROPOSED


def test_a_failed_measure_is_not_carried_out_beside_its_replacement(world):
    violation = world.violation("offline_transaction")
    deduction = dict(kind="deposit_deduction", amount_fen=100_000, departure_reason="按情节。")
    failed = world.propose(violation, **deduction)
    services.measure_approve(measure=failed, actor=world.lead_actor)
    services.measure_fail(measure=failed, reason="记账服务不可用。", actor=world.lead_actor)
    world.propose(violation, **deduction)
    with pytest.raises(Conflict):
        services.measure_execute(measure=failed, actor=world.lead_actor)
    failed.refresh_from_db()
    assert failed.status == MeasureStatus.FAILED


def test_the_database_refuses_a_second_standing_measure_too(world, monkeypatch):
    """Two proposals racing past the check: the constraint refuses the second, as a Conflict."""
    from enforcement.services import measures

    monkeypatch.setattr(measures, "_refuse_second", lambda *args, **kwargs: None)
    violation = world.violation("offline_transaction")
    deduction = dict(kind="deposit_deduction", amount_fen=100_000, departure_reason="按情节。")
    world.propose(violation, **deduction)
    with pytest.raises(Conflict):
        world.propose(violation, **deduction)
    assert Measure.objects.filter(violation=violation).count() == 1


# --- a deduction that does not finish -------------------------------------------------------------


def test_the_relay_marks_a_deduction_executing_too_long_failed(world, settings):
    from enforcement import tasks

    settings.ENFORCEMENT_DEDUCTION_GIVE_UP_MINUTES = 60
    services.top_up(party=world.merchant, amount_fen=500_000, reference="p", actor=world.lead_actor)
    stuck = world.deduction(amount_fen=100_000)
    recent = world.deduction(amount_fen=100_000)
    for measure in (stuck, recent):
        # Approved, its message lost: the worker never ran.
        services.measure_approve(measure=measure, actor=world.lead_actor)
    now = timezone.now()
    Measure.objects.filter(pk=stuck.pk).update(starts_at=now - timedelta(minutes=61))
    Measure.objects.filter(pk=recent.pk).update(starts_at=now - timedelta(minutes=30))

    tasks.relay_money()

    stuck.refresh_from_db()
    recent.refresh_from_db()
    assert stuck.status == MeasureStatus.FAILED and "60" in stuck.failure_reason
    event = MeasureEvent.objects.get(measure=stuck, kind="failed")
    assert event.actor_user is None and event.actor_label.endswith("enforcement.relay_money")
    assert not LedgerEntry.objects.filter(measure=stuck).exists()
    # The recent one was only lost: queued again, and taken.
    assert recent.status == MeasureStatus.EXECUTED
    assert LedgerEntry.objects.get(measure=recent).amount_fen == -100_000


@pytest.mark.postgres
def test_locking_a_measure_locks_its_row_only(world):
    """The violation and the party are read with it, not locked: a lock on the party would queue
    every other measure of the party behind this one."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from enforcement.services.base import lock_measure

    if not connection.features.has_select_for_update_of:
        pytest.skip("SQLite takes no row locks")
    measure = world.propose(kind="live_suspension", term_days=7)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        lock_measure(measure)
    [sql] = [q["sql"] for q in queries if "FOR UPDATE" in q["sql"]]
    assert sql.endswith('FOR UPDATE OF "enforcement_measure"')
