"""Appeals (window, once, someone not involved, reversal undoes everything) and referrals (the
signed dossier, delivery once by idempotency key)."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.models import Restriction
from config.errors import Conflict
from enforcement import services
from enforcement.models import LedgerEntry, MeasureStatus, Referral
from enforcement.services import referrals
from tests.receiver import LocalServer


def test_a_reversal_lifts_refunds_and_restores(world, committed):
    services.top_up(
        party=world.merchant, amount_fen=300_000, reference="p1", actor=world.lead_actor
    )
    measure = world.deduction(amount_fen=100_000)
    with committed():
        services.measure_approve(measure=measure, actor=world.lead_actor)
    appeal = services.appeal_file(
        measure=measure, grounds="并未引导线下交易。", channel="api", actor=world.lead2_actor
    )
    measure.refresh_from_db()
    assert measure.status == MeasureStatus.APPEALED
    # The proposer and the approver took part; the decision is someone else's.
    with pytest.raises(PermissionDenied):
        services.appeal_decide(appeal=appeal, reverse=True, reason="x", actor=world.lead_actor)
    from accounts.actors import Actor
    from tests.factories import UserFactory

    third = Actor.for_user(UserFactory(roles=["compliance_lead"]))
    with committed():
        services.appeal_decide(appeal=appeal, reverse=True, reason="证据不足。", actor=third)
    measure.refresh_from_db()
    assert measure.status == MeasureStatus.REVERSED
    refund = LedgerEntry.objects.get(kind="refund", measure=measure)
    assert refund.amount_fen == 100_000 and refund.balance_after_fen == 300_000
    assert services.refund_carry_out(measure.pk) == "already refunded"


def test_a_suspension_reversed_lifts_its_restriction(world, committed):
    measure = world.propose(kind="live_suspension", term_days=7)
    appeal = services.appeal_file(
        measure=measure, grounds="误判。", channel="web", actor=world.lead_actor
    )
    services.appeal_decide(
        appeal=appeal, reverse=True, reason="回放显示无违规。", actor=world.lead2_actor
    )
    assert not Restriction.objects.in_force().filter(party=world.merchant).exists()


def test_a_second_appeal_and_a_late_one_are_refused(world):
    measure = world.propose(kind="live_suspension", term_days=7)
    services.appeal_file(measure=measure, grounds="误判。", channel="api", actor=world.lead_actor)
    with pytest.raises(Conflict):
        services.appeal_file(
            measure=measure, grounds="再次申诉。", channel="api", actor=world.lead_actor
        )
    late = world.propose(world.violation(), kind="live_suspension", term_days=7)
    type(late).objects.filter(pk=late.pk).update(executed_at=timezone.now() - timedelta(days=200))
    late.refresh_from_db()
    with pytest.raises(Conflict):
        services.appeal_file(measure=late, grounds="迟到。", channel="api", actor=world.lead_actor)
    assert not hasattr(late, "appeal") or late.appeal is None


def test_a_referral_is_delivered_once_with_a_dossier_that_verifies(world, committed):
    server = LocalServer().start()
    try:
        authority = world.authority(
            endpoint_url=server.url("/referrals"), shared_secret="k" * 32, email=""
        )
        violation = world.violation("prohibited_goods")
        with committed():
            measure = world.propose(
                violation,
                kind="refer_authority",
                authorities=[authority],
                actor=world.lead_actor,
                departure_reason="单独移送。",
            )
            services.measure_approve(measure=measure, actor=world.lead2_actor)
        referral = Referral.objects.get(measure=measure)
        assert referral.status == "delivered"
        assert len(server.requests) == 1
        request = server.requests[0]
        assert request.headers["Idempotency-Key"] == str(referral.idempotency_key)
        assert referrals.verify_dossier(request.body, "k" * 32)
        assert not referrals.verify_dossier(request.body, "wrong")
        assert referrals.attempt(referral.pk) == "not_due"
        assert len(server.requests) == 1
    finally:
        server.stop()
