"""The deposit ledger: every movement is one append-only entry under the account row's lock.

Exactly once in effect: each effect has an idempotency key ("measure:<id>:deduction", ...)
unique in the ledger. The worker that carries out a deduction locks the account row, looks for
the key, and writes the entry and the new balance in one transaction -- so a message delivered
twice, or a worker killed before it acknowledged, finds the entry and does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import BigIntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.actors import Actor
from accounts.models import Party
from config.errors import Conflict
from enforcement.models import DepositAccount, EntryKind, LedgerEntry, Reconciliation

MAX_TOP_UP_FEN = 10**12  # ten billion yuan: anything above is a typing error


def account_for(party: Party | int) -> DepositAccount:
    party_id = party if isinstance(party, int) else party.pk
    account, _created = DepositAccount.objects.get_or_create(party_id=party_id)
    return account


def _locked(party_id: int) -> DepositAccount:
    account_for(party_id)
    return DepositAccount.objects.select_for_update().get(party_id=party_id)


def _append(
    account: DepositAccount,
    *,
    kind: str,
    amount_fen: int,
    key: str,
    actor: Actor,
    shortfall_fen: int = 0,
    measure=None,
    case=None,
    reference: str = "",
) -> LedgerEntry:
    """Write one entry and the balance it leaves; the caller holds the account's lock."""
    balance = account.balance_fen + amount_fen
    if balance < 0:
        raise ValidationError(_("The deposit balance cannot go below zero."))
    entry = LedgerEntry.objects.create(
        account=account,
        kind=kind,
        amount_fen=amount_fen,
        balance_after_fen=balance,
        shortfall_fen=shortfall_fen,
        idempotency_key=key,
        measure=measure,
        case=case,
        reference=reference[:200],
        actor_label=actor.label,
    )
    account.balance_fen = balance
    account.shortfall_fen += shortfall_fen
    account.updated_at = timezone.now()
    account.save(update_fields=["balance_fen", "shortfall_fen", "updated_at"])
    return entry


@dataclass(frozen=True)
class Posted:
    entry: LedgerEntry
    created: bool  # False: the key had been posted before, and nothing changed


@transaction.atomic
def post_once(
    *,
    party_id: int,
    kind: str,
    amount_fen: int,
    key: str,
    actor: Actor,
    measure=None,
    case=None,
    reference: str = "",
    clears_shortfall_fen: int = 0,
) -> Posted:
    """Post an entry unless its key has been posted already. For deductions and compensation
    `amount_fen` is what is asked for (positive); the entry takes what the balance allows and
    records the rest as shortfall. A refund may clear the shortfall of the deduction it reverses
    (`clears_shortfall_fen`), and then may give back nothing if the deduction took nothing."""
    if clears_shortfall_fen and kind != EntryKind.REFUND:
        raise ValueError("Only a refund clears a shortfall.")
    account = _locked(party_id)
    existing = LedgerEntry.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return Posted(existing, created=False)
    if amount_fen < 0 or (amount_fen == 0 and clears_shortfall_fen <= 0):
        raise ValidationError({"amount_fen": _("The amount must be positive.")})
    shortfall = -clears_shortfall_fen
    if kind in (EntryKind.DEDUCTION, EntryKind.COMPENSATION, EntryKind.WITHDRAWAL):
        if kind == EntryKind.DEDUCTION:
            taken = min(amount_fen, account.balance_fen)
            shortfall = amount_fen - taken
        else:
            if amount_fen > account.balance_fen:
                raise ValidationError(
                    {
                        "amount_fen": _("The deposit holds only %(yuan).2f yuan.")
                        % {"yuan": account.balance_fen / 100}
                    }
                )
            taken = amount_fen
        signed = -taken
    else:
        signed = amount_fen
    entry = _append(
        account,
        kind=kind,
        amount_fen=signed,
        key=key,
        actor=actor,
        shortfall_fen=shortfall,
        measure=measure,
        case=case,
        reference=reference,
    )
    return Posted(entry, created=True)


@transaction.atomic
def top_up(*, party: Party, amount_fen: int, reference: str, actor: Actor) -> Posted:
    """Money the party paid into its deposit, as the platform's payment system reports it. The
    platform's payment reference is the idempotency key: reporting it twice posts it once."""
    if actor.user is not None and not actor.user.has_perm("enforcement.record_deposit"):
        raise PermissionDenied(_("You do not have permission to do this."))
    if not reference.strip():
        raise ValidationError({"reference": _("Give the payment's reference.")})
    if not 0 < amount_fen <= MAX_TOP_UP_FEN:
        raise ValidationError({"amount_fen": _("The amount must be positive.")})
    key = f"topup:{reference.strip()[:100]}"
    try:
        posted = post_once(
            party_id=party.pk,
            kind=EntryKind.TOP_UP,
            amount_fen=amount_fen,
            key=key,
            actor=actor,
            reference=reference.strip(),
        )
    except IntegrityError:
        # Posted by another request at the same moment: its entry was not committed when this
        # one looked, and the unique key refused this one's. post_once's savepoint is rolled
        # back; the entry that was committed answers, as for a retry.
        existing = LedgerEntry.objects.filter(idempotency_key=key).first()
        if existing is None:
            raise
        posted = Posted(existing, created=False)
    # A reference reported again for another party or amount is not a retry: answering with the
    # first entry would tell the caller this payment was credited when it was not. Raised in
    # this transaction, the refusal also takes back the account post_once opened for the party.
    if not posted.created and (
        posted.entry.account.party_id != party.pk or posted.entry.amount_fen != amount_fen
    ):
        raise Conflict(
            _("This payment reference was recorded already, for another party or amount.")
        )
    return posted


def pay_compensation(*, party: Party, case, amount_fen: int, actor: Actor) -> Posted:
    """Compensation paid to a consumer out of the party's deposit (a complaint decided with
    compensation); one payment per complaint."""
    from complaints.models import Outcome

    if actor.user is None or not actor.user.has_perm("enforcement.record_deposit"):
        raise PermissionDenied(_("You do not have permission to do this."))
    if party.pk not in (case.merchant_id, case.anchor_id):
        raise ValidationError(
            {"case": _("The complaint is not about this party: its deposit does not pay for it.")}
        )
    # The outcome decides, not the amount alone: an amount stored with another outcome (before
    # case_decide refused that) is not a decision to compensate.
    if case.outcome != Outcome.COMPENSATION:
        raise ValidationError(
            {"case": _("The complaint was not decided with compensation: nothing is paid for it.")}
        )
    if case.compensation_fen is None or amount_fen > case.compensation_fen:
        raise ValidationError(
            {"amount_fen": _("The amount exceeds the compensation decided on the complaint.")}
        )
    return post_once(
        party_id=party.pk,
        kind=EntryKind.COMPENSATION,
        amount_fen=amount_fen,
        key=f"case:{case.pk}:compensation",
        actor=actor,
        case=case,
        reference=case.tracking_code,
    )


def required_for(categories) -> int:
    """The deposit a merchant selling in these categories must hold: the largest requirement."""
    from enforcement.models import DepositRequirement

    amounts = DepositRequirement.objects.filter(category__in=list(categories)).values_list(
        "amount_fen", flat=True
    )
    return max(amounts, default=0)


# --- reconciliation ------------------------------------------------------------------------------


def reconcile(*, batch: int = 5000) -> Reconciliation:
    """Compare every balance with the sum of its entries, and record (and report) any
    difference. Each batch is one statement -- the balance and its entries' sum read from one
    snapshot -- so a posting that commits while the check runs cannot show as a difference."""
    entries = (
        LedgerEntry.objects.filter(account=OuterRef("pk"))
        .order_by()
        .values("account")
        .annotate(total=Sum("amount_fen"))
        .values("total")
    )
    mismatches = []
    checked = 0
    last_id = 0
    while True:
        rows = list(
            DepositAccount.objects.filter(pk__gt=last_id)
            .annotate(entries_fen=Coalesce(Subquery(entries), 0, output_field=BigIntegerField()))
            .order_by("pk")
            .values_list("pk", "party_id", "balance_fen", "entries_fen")[:batch]
        )
        if not rows:
            break
        for account_id, party_id, balance, total in rows:
            if total != balance:
                mismatches.append(
                    {
                        "account_id": account_id,
                        "party_id": party_id,
                        "balance_fen": balance,
                        "entries_fen": total,
                    }
                )
        checked += len(rows)
        last_id = rows[-1][0]
    return Reconciliation.objects.create(accounts_checked=checked, mismatches=mismatches)


def ledger_is_append_only_in_database() -> bool:
    """Whether the database itself refuses UPDATE and DELETE on entries (PostgreSQL trigger)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_trigger"
            " WHERE tgname = 'ledger_entry_append_only' AND NOT tgisinternal"
        )
        return cursor.fetchone() is not None


def max_deduction_fen() -> int:
    return settings.ENFORCEMENT_MAX_DEDUCTION_FEN
