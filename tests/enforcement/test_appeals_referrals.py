"""Appeals (window, once, someone not involved, reversal undoes everything) and referrals (the
signed dossier, delivery once by idempotency key)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone, translation

from accounts.actors import Actor
from accounts.models import Restriction
from config.errors import Conflict
from enforcement import services
from enforcement.models import (
    AppealStatus,
    DepositAccount,
    LedgerEntry,
    Measure,
    MeasureEvent,
    MeasureStatus,
    Referral,
    ReferralStatus,
    ViolationType,
)
from enforcement.services import referrals, statements
from tests.factories import UserFactory, register_party
from tests.receiver import LocalServer

SHANGHAI = ZoneInfo("Asia/Shanghai")


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
    # Lifted as reversed: it leaves the party's record (a room's compliance record).
    lifted = Restriction.objects.get(party=world.merchant, kind="live")
    assert lifted.reversed_on_appeal and lifted.lifted_at is not None


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


# --- who may decide -------------------------------------------------------------------------------


def _appealed_warning(world, violation):
    measure = world.propose(violation, kind="warning")
    return services.appeal_file(
        measure=measure, grounds="并无骚扰。", channel="api", actor=Actor(label="api:platform")
    )


def test_whoever_raised_or_evidenced_the_violation_does_not_decide_the_appeal(world):
    violation = services.violation_raise(
        party=world.merchant, source="reviewer", facts="弹窗广告无法关闭。", actor=world.lead2_actor
    )
    services.evidence_link(
        violation=violation, reference="clip-1", description="回放片段", actor=world.lead2_actor
    )
    violation = services.violation_confirm(
        violation=violation,
        vtype=ViolationType.objects.get(code="harassing_ads", status="published"),
        actor=world.reviewer_actor,
    )
    appeal = _appealed_warning(world, violation)
    with pytest.raises(PermissionDenied):
        services.appeal_decide(
            appeal=appeal, reverse=False, reason="维持。", actor=world.lead2_actor
        )
    appeal = services.appeal_decide(
        appeal=appeal, reverse=False, reason="维持。", actor=world.lead_actor
    )
    assert appeal.status == AppealStatus.UPHELD


def test_the_inspector_of_the_violations_inspection_does_not_decide_the_appeal(world):
    from liverooms.models import LiveSession
    from liverooms.services import inspection_record

    inspection = inspection_record(
        session=LiveSession.objects.create(room=world.room, owner=world.room.owner),
        checklist={"labels": False},
        findings="弹窗广告遮挡画面。",
        result="correction_requested",
        actor=world.lead2_actor,
    )
    # A reviewer raises it from the inspection later: the inspector wrote no violation event.
    violation = services.violation_raise(
        party=world.merchant,
        source="inspection",
        facts=inspection.findings,
        inspection=inspection,
        actor=world.reviewer_actor,
    )
    violation = services.violation_confirm(
        violation=violation,
        vtype=ViolationType.objects.get(code="harassing_ads", status="published"),
        actor=world.reviewer_actor,
    )
    appeal = _appealed_warning(world, violation)
    with pytest.raises(PermissionDenied):
        services.appeal_decide(
            appeal=appeal, reverse=True, reason="撤销。", actor=world.lead2_actor
        )


# --- referrals of a reversed measure --------------------------------------------------------------


def _referred(world, *authorities) -> Measure:
    measure = world.propose(
        world.violation("prohibited_goods"),
        kind="refer_authority",
        authorities=list(authorities),
        actor=world.lead_actor,
        departure_reason="单独移送。",
    )
    return services.measure_approve(measure=measure, actor=world.lead2_actor)


def _reverse(measure: Measure, actor) -> None:
    appeal = services.appeal_file(
        measure=measure, grounds="证据不足。", channel="api", actor=Actor(label="api:platform")
    )
    services.appeal_decide(appeal=appeal, reverse=True, reason="证据不足。", actor=actor)


def test_a_reversal_cancels_the_referral_no_authority_received(world, mailoutbox):
    third = Actor.for_user(UserFactory(roles=["compliance_lead"]))
    measure = _referred(world, world.authority())  # its delivery not run yet
    _reverse(measure, third)
    referral = Referral.objects.get(measure=measure)
    assert referral.status == ReferralStatus.CANCELLED
    assert not Referral.objects.filter(measure=measure, purpose="reversal").exists()
    assert referrals.attempt(referral.pk) == "not_due"
    with pytest.raises(Conflict):
        services.referral_requeue(referral=referral, actor=world.lead_actor)
    event = MeasureEvent.objects.get(measure=measure, kind="reversed")
    assert (event.data["referrals_cancelled"], event.data["reversal_notices"]) == (1, [])
    # Put back in the outbox by a requeue that raced the reversal: the attempt cancels it.
    Referral.objects.filter(pk=referral.pk).update(status=ReferralStatus.PENDING)
    assert referrals.attempt(referral.pk) == "cancelled"
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.CANCELLED
    assert mailoutbox == [] and not referral.dossier


def test_only_the_authorities_that_received_the_referral_are_told_of_the_reversal(
    world, committed, settings, mailoutbox
):
    settings.REFERRAL_MAX_ATTEMPTS = 1
    by_mail = world.authority()
    unreachable = world.authority(
        name="某市公安局",
        kind="police",
        email="",
        endpoint_url="http://127.0.0.1:9/referrals",
        shared_secret="k" * 32,
    )
    with committed():
        measure = _referred(world, by_mail, unreachable)
    statuses = dict(Referral.objects.filter(measure=measure).values_list("authority", "status"))
    assert statuses == {by_mail.pk: "delivered", unreachable.pk: "failed"}
    failed = Referral.objects.get(authority=unreachable)
    with committed():
        _reverse(measure, Actor.for_user(UserFactory(roles=["compliance_lead"])))
    failed.refresh_from_db()
    assert failed.status == ReferralStatus.CANCELLED
    [notice] = Referral.objects.filter(measure=measure, purpose="reversal")
    assert (notice.authority, notice.status) == (by_mail, ReferralStatus.DELIVERED)
    assert [m.to for m in mailoutbox] == [[by_mail.email], [by_mail.email]]
    with pytest.raises(Conflict):
        services.referral_requeue(referral=failed, actor=world.lead_actor)


def test_a_referral_that_lands_after_the_reversal_cancelled_it_is_followed_by_a_notice(
    world, committed, monkeypatch, mailoutbox
):
    authority = world.authority()
    measure = _referred(world, authority)
    referral = Referral.objects.get(measure=measure)
    send = referrals._send_email

    def reversed_while_sending(referral, body):
        # The appeal is decided while the dossier is on its way to the authority.
        monkeypatch.setattr(referrals, "_send_email", send)
        _reverse(measure, Actor.for_user(UserFactory(roles=["compliance_lead"])))
        return send(referral, body)

    monkeypatch.setattr(referrals, "_send_email", reversed_while_sending)
    with committed():
        assert referrals.attempt(referral.pk) == "delivered"
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.DELIVERED
    notice = Referral.objects.get(measure=measure, purpose="reversal", authority=authority)
    assert notice.status == ReferralStatus.DELIVERED
    assert [m.to for m in mailoutbox] == [[authority.email], [authority.email]]


# --- referrals by e-mail --------------------------------------------------------------------------


def test_a_line_break_in_the_partys_name_does_not_reach_the_mail_headers(world, mailoutbox):
    party = register_party("merchant", name="西子\n良品\r\nBcc: someone@example.com")
    violation = world.violation("prohibited_goods", party=party)
    measure = world.propose(
        violation,
        kind="refer_authority",
        authorities=[world.authority()],
        actor=world.lead_actor,
        departure_reason="单独移送。",
    )
    services.measure_approve(measure=measure, actor=world.lead2_actor)
    referral = Referral.objects.get(measure=measure)
    assert referrals.attempt(referral.pk) == "delivered"
    [message] = mailoutbox
    assert "西子 良品 Bcc: someone@example.com" in message.subject
    assert "\n" not in message.subject and "\r" not in message.subject
    assert message.bcc == [] and message.recipients() == ["referrals@example.gov.cn"]


def test_a_mail_failure_is_recorded_without_the_subject(world, monkeypatch, caplog):
    from django.core.mail import EmailMessage

    def refuse(message):
        raise ValueError(f"cannot encode header {message.subject!r}")

    monkeypatch.setattr(EmailMessage, "send", refuse)
    measure = _referred(world, world.authority())
    referral = Referral.objects.get(measure=measure)
    assert referrals.attempt(referral.pk) == "retry"
    referral.refresh_from_db()
    assert referral.last_error == "ValueError"
    assert world.merchant.name not in caplog.text


def test_a_dossier_too_large_for_mail_fails_at_once_with_the_reason(world, settings, mailoutbox):
    settings.REFERRAL_EMAIL_MAX_BYTES = 1024
    measure = _referred(world, world.authority())
    referral = Referral.objects.get(measure=measure)
    with translation.override("en"):
        assert referrals.attempt(referral.pk) == "failed"
    referral.refresh_from_db()
    assert (referral.status, referral.attempts) == (ReferralStatus.FAILED, 1)
    assert "more than e-mail carries" in referral.last_error
    assert mailoutbox == []


# --- the shortfall of a reversed deduction --------------------------------------------------------


def _reversed_deduction(world, committed, *, balance_fen: int, refund: bool = True):
    if balance_fen:
        services.top_up(
            party=world.merchant, amount_fen=balance_fen, reference="p", actor=world.lead_actor
        )
    measure = world.deduction(amount_fen=100_000)
    with committed():
        services.measure_approve(measure=measure, actor=world.lead_actor)
    third = Actor.for_user(UserFactory(roles=["compliance_lead"]))
    if refund:
        with committed():
            _reverse(measure, third)
    else:
        _reverse(measure, third)  # the refund's message is lost
    return measure


def _account(world) -> DepositAccount:
    return DepositAccount.objects.get(party=world.merchant)


def test_a_reversal_clears_the_shortfall_the_deduction_recorded(world, committed):
    measure = _reversed_deduction(world, committed, balance_fen=30_000)
    refund = LedgerEntry.objects.get(kind="refund", measure=measure)
    assert (refund.amount_fen, refund.shortfall_fen) == (30_000, -70_000)
    assert (_account(world).balance_fen, _account(world).shortfall_fen) == (30_000, 0)
    assert services.refund_carry_out(measure.pk) == "already refunded"
    assert _account(world).shortfall_fen == 0


def test_a_reversal_clears_the_shortfall_of_a_deduction_that_took_nothing(world, committed):
    measure = _reversed_deduction(world, committed, balance_fen=0)
    refund = LedgerEntry.objects.get(kind="refund", measure=measure)
    assert (refund.amount_fen, refund.shortfall_fen, refund.balance_after_fen) == (0, -100_000, 0)
    assert (_account(world).balance_fen, _account(world).shortfall_fen) == (0, 0)
    event = MeasureEvent.objects.get(measure=measure, kind="reversed")
    assert (event.data["refund_fen"], event.data["shortfall_cleared_fen"]) == (0, 100_000)


def test_the_relay_clears_a_shortfall_whose_refund_message_was_lost(world, committed):
    from enforcement import tasks

    measure = _reversed_deduction(world, committed, balance_fen=0, refund=False)
    assert _account(world).shortfall_fen == 100_000
    Measure.objects.filter(pk=measure.pk).update(lifted_at=timezone.now() - timedelta(minutes=5))
    assert tasks.relay_money() == 1
    assert _account(world).shortfall_fen == 0


def test_the_appeal_window_is_counted_in_months_of_the_beijing_calendar(world, time_machine):
    # 00:30 on 1 March in Beijing is still 28 February in UTC.
    time_machine.move_to("2026-03-01 00:30 +08:00", tick=False)
    measure = world.propose(kind="warning", departure_reason="情节较轻。")
    assert statements.appeal_deadline(measure) == datetime(2026, 9, 1, 0, 30, tzinfo=SHANGHAI)

    time_machine.move_to("2026-08-31 23:59 +08:00", tick=False)
    appeal = services.appeal_file(
        measure=measure, grounds="误判。", channel="web", actor=Actor(label="web")
    )
    assert appeal.pk
