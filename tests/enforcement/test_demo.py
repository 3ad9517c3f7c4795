"""The demo enforcement data: measures in the states the workbench shows, through the real
services; the demo's live sessions still pass the deposit check; a second run adds nothing."""

import io
import re

from django.core.management import call_command

from enforcement import checks
from enforcement.models import (
    Appeal,
    Authority,
    DepositAccount,
    DepositRequirement,
    Evidence,
    LedgerEntry,
    Measure,
    MeasureEvent,
    Violation,
)
from enforcement.services import ledger
from liverooms import gate
from liverooms.models import GoLiveRefusal, LiveSession, SessionStatus


def counts() -> dict:
    return {
        model.__name__: model.objects.count()
        for model in (
            Appeal,
            Authority,
            DepositRequirement,
            Evidence,
            LedgerEntry,
            Measure,
            MeasureEvent,
            Violation,
        )
    }


def gate_reasons(room_id: int, anchor_ids: list[int], product_ids: list[int]) -> list[str]:
    """What the gate answers to this go-live request now, without recording anything."""
    context = gate.load_context(
        room_id=room_id, anchor_ids=anchor_ids, product_ids=product_ids, ai_generated=False
    )
    return [reason.code for reason in gate.decide(context)]


def asked_again(session: LiveSession) -> list[str]:
    return gate_reasons(
        session.room_id,
        list(session.anchors.values_list("anchor_id", flat=True)),
        list(session.products.values_list("product_id", flat=True)),
    )


def test_the_demo_has_measures_in_every_stage_and_runs_twice(
    db, settings, tmp_path, client, mailoutbox
):
    settings.MEDIA_ROOT = tmp_path
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    first = counts()

    assert Violation.objects.filter(status="suspected", evidence__kind="alert").exists()
    states = set(Measure.objects.values_list("kind", "status"))
    assert {
        ("notice_to_correct", "executed"),
        ("live_suspension", "appealed"),  # executed, then appealed: a public notice
        ("warning", "executed"),
        ("deposit_deduction", "executed"),
        ("deposit_deduction", "proposed"),
    } <= states
    pending = Measure.objects.get(kind="deposit_deduction", status="proposed")
    assert pending.severe
    executed = Measure.objects.get(kind="deposit_deduction", status="executed")
    assert LedgerEntry.objects.get(measure=executed).amount_fen == -executed.amount_fen
    assert Appeal.objects.get().status == "pending"
    assert Authority.objects.get().email and not Authority.objects.get().endpoint_url
    # Every executed demo measure's statement is recorded, and none went to a made-up address.
    assert not Measure.objects.filter(executed_at__isnull=False, statement_sent_at=None).exists()
    assert mailoutbox == []

    # The demo's sessions would still be let on air with the requirements in force, and the
    # infant-formula room is refused for its advertising review alone.
    checks.forget_requirements()
    on_air = LiveSession.objects.filter(status=SessionStatus.LIVE)
    assert on_air.exists()
    assert {session.room.platform_ref: asked_again(session) for session in on_air} == {
        session.room.platform_ref: [] for session in on_air
    }
    formula = GoLiveRefusal.objects.get(room__platform_ref="r-0008")
    requested = formula.requested
    assert gate_reasons(formula.room_id, requested["anchors"], requested["products"]) == [
        "ad_review_missing"
    ]
    # Approving the pending deduction leaves the merchant what its products require.
    account = DepositAccount.objects.get(party=pending.party)
    categories = pending.party.products.values_list("category", flat=True)
    assert account.balance_fen - pending.amount_fen >= ledger.required_for(categories) > 0

    # The printed statement links open the statements.
    links = re.findall(r"http://127\.0\.0\.1:8000(/statements/\S+/)", out.getvalue())
    assert len(links) == Measure.objects.filter(executed_at__isnull=False).count()
    assert client.get(links[0]).status_code == 200
    assert "陈思远" in client.get("/notices/").content.decode()

    call_command("seed_demo", stdout=io.StringIO())
    assert counts() == first
