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
    from enforcement import notifications

    measure = world.deduction(amount_fen=100)
    services.measure_approve(measure=measure, actor=world.lead_actor)
    assert notifications.send("approval_requested", measure.pk) == "no longer due"
    assert not [m for m in mailoutbox if "待审批" in m.subject]
