"""The enforcement app's go-live check: a merchant selling in a category that requires a deposit
holds at least that much (issue 4's gate, "a deposit below the required amount")."""

from __future__ import annotations

import time
from collections.abc import Iterable

from django.utils.translation import gettext as _

from enforcement.models import DepositAccount, DepositRequirement
from liverooms.gate import GateContext, Reason, gate_check, gate_loader, gate_read

# The requirements change rarely and are read on every decision: each process keeps them this
# long (a change in the admin reaches every process within the minute).
REQUIREMENTS_SECONDS = 60
_requirements: tuple[float, dict[str, int]] = (0.0, {})


def requirements() -> dict[str, int]:
    global _requirements
    loaded_at, table = _requirements
    if time.monotonic() - loaded_at > REQUIREMENTS_SECONDS:
        table = dict(DepositRequirement.objects.values_list("category", "amount_fen"))
        _requirements = (time.monotonic(), table)
    return table


def forget_requirements() -> None:
    global _requirements
    _requirements = (0.0, {})


# The deposit accounts of the merchants whose goods are asked for come with the gate's one read,
# whatever their categories require: a query run only when a product's category requires a
# deposit would tell a key bound to a party, by its time, the category of another merchant's
# product, which its answer does not (liverooms.services.reasons_for_party).
gate_read(
    "deposit",
    DepositAccount,
    "d",
    ["party", "balance_fen"],
    "d.party_id {in_merchants}",
)


@gate_loader
def load_deposits(context: GateContext) -> None:
    table = requirements()
    needed: dict[int, int] = {}
    for product in context.products:
        amount = table.get(product.category, 0)
        if amount:
            needed[product.merchant_id] = max(needed.get(product.merchant_id, 0), amount)
    balances = {account.party_id: account.balance_fen for account in context.rows["deposit"]}
    context.extra["deposits"] = (needed, balances)


@gate_check("deposit_short")
def deposit_short(context: GateContext) -> Iterable[Reason]:
    needed, balances = context.extra.get("deposits", ({}, {}))
    for party_id, amount in sorted(needed.items()):
        balance = balances.get(party_id, 0)
        if balance < amount:
            yield Reason(
                "deposit_short",
                _(
                    "The merchant's deposit is %(balance).2f yuan; selling these products needs "
                    "%(required).2f yuan."
                )
                % {"balance": balance / 100, "required": amount / 100},
                party_id=party_id,
            )
