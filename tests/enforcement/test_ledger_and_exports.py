"""The deposit ledger's invariants and the go-live deposit check; the dossier's integrity; the
regulators' export and the DSA statement shape."""

import csv
import io
import zipfile
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation

from config.errors import Conflict
from enforcement import checks, services
from enforcement.models import DepositAccount, DepositRequirement, LedgerEntry
from enforcement.services import exports, referrals, statements


def test_a_top_up_posted_twice_is_posted_once(world):
    first = services.top_up(
        party=world.merchant, amount_fen=5000, reference="pay-9", actor=world.lead_actor
    )
    again = services.top_up(
        party=world.merchant, amount_fen=5000, reference="pay-9", actor=world.lead_actor
    )
    assert first.created and not again.created and again.entry.pk == first.entry.pk
    assert DepositAccount.objects.get(party=world.merchant).balance_fen == 5000


@pytest.mark.parametrize("amount", [0, -1])
def test_a_top_up_must_be_positive(world, amount):
    with pytest.raises(ValidationError):
        services.top_up(
            party=world.merchant, amount_fen=amount, reference="p", actor=world.lead_actor
        )
    assert not LedgerEntry.objects.exists()


def test_entries_are_append_only_in_the_model(world):
    posted = services.top_up(
        party=world.merchant, amount_fen=10, reference="p", actor=world.lead_actor
    )
    with pytest.raises(ValueError):
        posted.entry.save()
    with pytest.raises(ValueError):
        posted.entry.delete()


def test_reconciliation_finds_a_balance_that_differs_from_its_entries(world):
    services.top_up(party=world.merchant, amount_fen=1000, reference="p", actor=world.lead_actor)
    assert services.reconcile().mismatches == []
    DepositAccount.objects.filter(party=world.merchant).update(balance_fen=999)
    run = services.reconcile()
    assert run.accounts_checked == 1
    assert run.mismatches == [
        {
            "account_id": world.merchant.deposit_account.pk,
            "party_id": world.merchant.pk,
            "balance_fen": 999,
            "entries_fen": 1000,
        }
    ]


def test_compensation_cannot_exceed_what_the_complaint_decided(world):
    from tests.enforcement.test_sources import _decided_case

    case = _decided_case(world, "compensation", compensation_fen=5000)
    services.top_up(party=world.merchant, amount_fen=100_000, reference="p", actor=world.lead_actor)
    with pytest.raises(ValidationError):
        services.pay_compensation(
            party=world.merchant, case=case, amount_fen=10**9, actor=world.lead_actor
        )


def test_compensation_is_not_paid_on_a_complaint_decided_otherwise(world):
    from complaints.models import Case
    from tests.enforcement.test_sources import _decided_case

    case = _decided_case(world, "unfounded")
    # An amount stored with another outcome (case_decide refuses that now; rows from before
    # may carry one) is not a decision to compensate.
    Case.objects.filter(pk=case.pk).update(compensation_fen=50_000)
    case.refresh_from_db()
    services.top_up(
        party=world.merchant, amount_fen=1_000_000, reference="p", actor=world.lead_actor
    )
    with pytest.raises(ValidationError) as error:
        services.pay_compensation(
            party=world.merchant, case=case, amount_fen=50_000, actor=world.lead_actor
        )
    assert "case" in error.value.message_dict
    assert not LedgerEntry.objects.filter(kind="compensation").exists()
    assert DepositAccount.objects.get(party=world.merchant).balance_fen == 1_000_000


def test_a_reference_refused_for_another_party_opens_no_account_for_it(world):
    services.top_up(
        party=world.merchant, amount_fen=1000, reference="pay-1", actor=world.lead_actor
    )
    with pytest.raises(Conflict):
        services.top_up(
            party=world.anchor, amount_fen=1000, reference="pay-1", actor=world.lead_actor
        )
    assert not DepositAccount.objects.filter(party=world.anchor).exists()


@pytest.mark.parametrize(
    ("party", "created"), [("anchor", None), ("merchant", False)], ids=["other", "same"]
)
def test_a_reference_posted_by_another_request_at_the_same_moment_is_answered_like_a_retry(
    world, monkeypatch, party, created
):
    """The other request's entry was not committed when this one looked: its insert fails on
    the ledger's unique key. Another party's is a conflict (and leaves nothing), the same
    payment the entry already posted."""
    from django.db import IntegrityError, transaction

    from enforcement.services import ledger

    first = services.top_up(
        party=world.merchant, amount_fen=1000, reference="pay-1", actor=world.lead_actor
    )

    @transaction.atomic
    def raced(**kwargs):
        ledger.account_for(kwargs["party_id"])  # opened before the insert, as post_once does
        raise IntegrityError("UNIQUE constraint failed: enforcement_ledgerentry.idempotency_key")

    monkeypatch.setattr(ledger, "post_once", raced)
    target = getattr(world, party)
    if created is None:
        with pytest.raises(Conflict):
            services.top_up(
                party=target, amount_fen=1000, reference="pay-1", actor=world.lead_actor
            )
        assert not DepositAccount.objects.filter(party=target).exists()
    else:
        again = services.top_up(
            party=target, amount_fen=1000, reference="pay-1", actor=world.lead_actor
        )
        assert (again.created, again.entry.pk) == (False, first.entry.pk)
    assert LedgerEntry.objects.count() == 1


def test_the_gate_refuses_a_merchant_whose_deposit_is_short(world):
    from liverooms.gate import decide, load_context

    DepositRequirement.objects.create(category="apparel", amount_fen=200_000, updated_by="t")
    checks.forget_requirements()
    context = load_context(
        room_id=world.room.pk, anchor_ids=[], product_ids=[world.product.pk], ai_generated=False
    )
    codes = [r.code for r in decide(context)]
    assert "deposit_short" in codes
    services.top_up(party=world.merchant, amount_fen=200_000, reference="p", actor=world.lead_actor)
    context = load_context(
        room_id=world.room.pk, anchor_ids=[], product_ids=[world.product.pk], ai_generated=False
    )
    assert "deposit_short" not in [r.code for r in decide(context)]
    checks.forget_requirements()


def _referral(world, committed, **authority):
    violation = world.violation("prohibited_goods")
    services.evidence_add_file(
        violation=violation,
        upload=SimpleUploadedFile("chat.txt", "加我微信私下转账".encode()),
        description="聊天记录",
        actor=world.reviewer_actor,
    )
    measure = world.propose(
        violation,
        kind="refer_authority",
        authorities=[world.authority(**authority)],
        actor=world.lead_actor,
        departure_reason="单独移送。",
    )
    services.measure_approve(measure=measure, actor=world.lead2_actor)
    return measure.referrals.get()


def test_the_dossier_carries_the_evidence_and_detects_tampering(world, committed):
    referral = _referral(world, committed, shared_secret="s" * 32, endpoint_url="https://x.example")
    assert not referral.dossier  # built by the worker from what committed
    referral = referrals.ensure_dossier(referral)
    with default_storage.open(referral.dossier, "rb") as handle:
        data = handle.read()
    assert referrals.verify_dossier(data, "s" * 32)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert any(n.startswith("evidence/") for n in names)
        assert "加我微信".encode() in archive.read(
            next(n for n in names if n.startswith("evidence/"))
        )
        # Nothing but the masked identity: the dossier never carries the encrypted number.
        assert b"id_number_encrypted" not in archive.read("dossier.json")
        members = {n: archive.read(n) for n in names}
    members["dossier.json"] = members["dossier.json"].replace(b"prohibited_goods", b"harassing_ads")
    tampered = io.BytesIO()
    with zipfile.ZipFile(tampered, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    assert not referrals.verify_dossier(tampered.getvalue(), "s" * 32)


def test_evidence_changed_on_disk_after_approval_is_never_sent(world, committed):
    referral = _referral(world, committed)
    evidence = referral.measure.violation.evidence.get(kind="file")
    default_storage.delete(evidence.file)
    default_storage.save(evidence.file, ContentFile(b"altered"))
    with translation.override("en"):
        assert referrals.attempt(referral.pk) == "failed"
    referral.refresh_from_db()
    assert referral.status == "failed" and "does not match its digest" in referral.last_error
    assert not referral.dossier


def test_evidence_changed_on_disk_is_refused_at_approval(world, committed):
    violation = world.violation("prohibited_goods")
    evidence = services.evidence_add_file(
        violation=violation,
        upload=SimpleUploadedFile("chat.txt", b"original"),
        description="x",
        actor=world.reviewer_actor,
    )
    default_storage.delete(evidence.file)
    default_storage.save(evidence.file, ContentFile(b"altered"))
    with pytest.raises(ValidationError):
        world.propose(
            violation,
            kind="refer_authority",
            authorities=[world.authority()],
            actor=world.lead_actor,
            departure_reason="x",
        )
        services.measure_approve(measure=violation.measures.get(), actor=world.lead2_actor)


def test_the_sanctions_export_lists_executed_measures_by_level(world):
    world.propose(kind="live_suspension", term_days=7)
    blacklist = world.propose(
        world.violation("repeat_serious"), kind="blacklist", term_days=365, actor=world.lead_actor
    )
    services.measure_approve(measure=blacklist, actor=world.lead2_actor)
    today = timezone.localdate()
    county = list(csv.DictReader(io.StringIO("".join(exports.sanctions_csv(today, today))[1:])))
    provincial = list(
        csv.DictReader(io.StringIO("".join(exports.sanctions_csv(today, today, "provincial"))[1:]))
    )
    assert [r["measure"] for r in county] == ["live_suspension", "blacklist"]
    assert [r["measure"] for r in provincial] == ["blacklist"]
    yesterday = today - timedelta(days=1)
    assert len("".join(exports.sanctions_csv(yesterday, yesterday)).splitlines()) == 1


def test_the_dsa_statement_has_the_transparency_database_fields(world):
    measure = world.propose(kind="live_suspension", term_days=7)
    data = statements.transparency_db(measure)
    assert data["puid"] == str(measure.puid)
    assert data["decision_provision"] == "DECISION_PROVISION_PARTIAL_SUSPENSION"
    assert data["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"
    assert data["automated_decision"] == "AUTOMATED_DECISION_NOT_AUTOMATED"
    assert (
        data["end_date_service_restriction"]
        == timezone.localtime(measure.ends_at).date().isoformat()
    )


def test_the_statement_link_opens_only_with_its_token(world, client):
    measure = world.propose(kind="live_suspension", term_days=7)
    url = statements.statement_url(measure).replace("http://127.0.0.1:8000", "")
    assert client.get(url).status_code == 200
    assert client.get(url.replace(statements.token(measure), "0" * 32)).status_code == 404


def test_compensation_for_a_complaint_about_another_party_is_refused(world):
    from tests.enforcement.test_sources import _decided_case
    from tests.factories import register_party

    case = _decided_case(world, "compensation", compensation_fen=5000)
    other = register_party("merchant", name="别家")
    services.top_up(party=other, amount_fen=100_000, reference="o", actor=world.lead_actor)
    with pytest.raises(ValidationError) as error:
        services.pay_compensation(party=other, case=case, amount_fen=5000, actor=world.lead_actor)
    assert "case" in error.value.message_dict
    assert not LedgerEntry.objects.filter(kind="compensation").exists()


def test_no_cell_of_the_sanctions_export_is_a_formula(world):
    from tests.factories import register_party

    party = register_party(
        "merchant", name='=HYPERLINK("http://x.example","打开")', platform_ref="+86-571"
    )
    world.propose(
        world.violation("harassing_ads", party=party),
        kind="warning",
        reason="-1+1 反复弹窗广告。",
    )
    today = timezone.localdate()
    [row] = csv.DictReader(io.StringIO("".join(exports.sanctions_csv(today, today))[1:]))
    assert row["party_name"] == '\'=HYPERLINK("http://x.example","打开")'
    assert row["platform_ref"] == "'+86-571"
    assert row["reason"] == "'-1+1 反复弹窗广告。"
    assert not any(value.startswith(exports.FORMULA_STARTS) for value in row.values())


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_that_starts_like_a_formula_is_written_as_text(start):
    assert exports._cell(start + "SUM(A1)") == "'" + start + "SUM(A1)"
    assert exports._cell("西子良品") == "西子良品"
    assert exports._cell(-5) == -5


def test_reconciliation_reads_each_balance_and_its_entries_at_once(world):
    """A top-up that commits while the check runs is not a difference: the balance and the sum
    of its entries come from one statement."""
    from django.db import connection

    services.top_up(party=world.merchant, amount_fen=1000, reference="p1", actor=world.lead_actor)
    racing = {"done": False}

    def top_up_after_the_entries_are_read(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not racing["done"] and "SUM" in sql.upper() and "enforcement_ledgerentry" in sql:
            racing["done"] = True
            services.top_up(
                party=world.merchant, amount_fen=500, reference="p2", actor=world.lead_actor
            )
        return result

    with connection.execute_wrapper(top_up_after_the_entries_are_read):
        run = services.reconcile()
    assert racing["done"]
    assert (run.accounts_checked, run.mismatches) == (1, [])
    assert services.reconcile().mismatches == []
