"""The deposit ledger (保证金): an account per party and its append-only entries.

The balance on the account row is a cache of the sum of its entries, updated in the same
transaction under the row's lock; the nightly reconciliation proves the two still agree.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from merchants.models import Category


class DepositRequirement(models.Model):
    """How much deposit a merchant selling in a category must hold."""

    category = models.CharField(_("category"), max_length=32, choices=Category.choices, unique=True)
    amount_fen = models.PositiveBigIntegerField(_("required deposit (fen)"))
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    updated_by = models.CharField(_("updated by"), max_length=150, editable=False)

    class Meta:
        verbose_name = _("deposit requirement")
        verbose_name_plural = _("deposit requirements")
        ordering = ["category"]

    def __str__(self) -> str:
        return f"{self.get_category_display()}: {self.amount_fen / 100:.2f}"


class DepositAccount(models.Model):
    party = models.OneToOneField(
        "accounts.Party",
        verbose_name=_("party"),
        on_delete=models.PROTECT,
        related_name="deposit_account",
    )
    balance_fen = models.BigIntegerField(_("balance (fen)"), default=0, editable=False)
    # What deductions could not take because the balance ran out: owed by the party, until the
    # deduction is reversed on appeal. (Collecting it is the platform's business, outside this
    # ledger.)
    shortfall_fen = models.BigIntegerField(_("shortfall (fen)"), default=0, editable=False)
    created_at = models.DateTimeField(_("opened at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("deposit account")
        verbose_name_plural = _("deposit accounts")
        ordering = ["party_id"]
        permissions = [("record_deposit", _("Can record deposit top-ups and compensation"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(balance_fen__gte=0), name="deposit_balance_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(shortfall_fen__gte=0), name="deposit_shortfall_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.party} · {self.balance_fen / 100:.2f}"


class EntryKind(models.TextChoices):
    TOP_UP = "top_up", _("Top-up")
    DEDUCTION = "deduction", _("Deduction")
    REFUND = "refund", _("Refund of a deduction")
    COMPENSATION = "compensation", _("Compensation paid to a consumer")
    WITHDRAWAL = "withdrawal", _("Returned to the party")


class LedgerEntry(models.Model):
    """One movement of money; never updated or deleted (the model refuses, and on PostgreSQL a
    trigger refuses too). A correction is a new entry."""

    account = models.ForeignKey(DepositAccount, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(_("kind"), max_length=16, choices=EntryKind.choices)
    # Signed: money in is positive, money out negative.
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    balance_after_fen = models.BigIntegerField(_("balance after (fen)"))
    # The change in what the party owes, like `amount_fen` for the balance: on a deduction, what
    # it was asked for but could not take; on the refund of a reversed deduction, minus that
    # deduction's shortfall, which the reversal clears. The account's shortfall is their sum.
    shortfall_fen = models.BigIntegerField(_("shortfall (fen)"), default=0)
    # One entry per effect: "measure:<id>:deduction", "measure:<id>:refund", "topup:<platform id>".
    idempotency_key = models.CharField(_("idempotency key"), max_length=120, unique=True)
    measure = models.ForeignKey(
        "enforcement.Measure",
        verbose_name=_("measure"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_entries",
    )
    case = models.ForeignKey(
        "complaints.Case",
        verbose_name=_("complaint"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reference = models.CharField(_("reference"), max_length=200, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now, editable=False)
    actor_label = models.CharField(_("recorded by"), max_length=150)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=EntryKind.values), name="ledger_kind_valid"
            ),
            # A refund gives money back, or (when the deduction took nothing) clears only the
            # shortfall it recorded.
            models.CheckConstraint(
                condition=(
                    Q(kind="top_up", amount_fen__gt=0)
                    | Q(kind="refund", amount_fen__gt=0)
                    | Q(kind="refund", amount_fen=0, shortfall_fen__lt=0)
                    | Q(kind__in=["deduction", "compensation", "withdrawal"], amount_fen__lte=0)
                ),
                name="ledger_sign_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(balance_after_fen__gte=0), name="ledger_balance_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(kind="refund", shortfall_fen__lte=0)
                | (~Q(kind="refund") & Q(shortfall_fen__gte=0)),
                name="ledger_shortfall_sign_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount_fen / 100:+.2f}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("Ledger entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Ledger entries are append-only.")


class Reconciliation(models.Model):
    """One run of the nightly check that every balance equals the sum of its entries."""

    at = models.DateTimeField(_("at"), default=timezone.now, editable=False)
    accounts_checked = models.PositiveIntegerField(_("accounts checked"))
    mismatches = models.JSONField(_("differences"), default=list)

    class Meta:
        verbose_name = _("ledger reconciliation")
        verbose_name_plural = _("ledger reconciliations")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{timezone.localtime(self.at):%Y-%m-%d %H:%M} · {len(self.mismatches)}"
