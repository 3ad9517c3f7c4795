"""Evaluations (ECL Art. 39): submitted by consumers, never edited or deleted, hidden only by a
reviewer with the reason recorded."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.actors import Actor
from accounts.models import Party, PartyKind
from complaints import credit_events
from complaints.models import (
    Evaluation,
    Source,
)
from complaints.services.base import require_staff
from complaints.services.contacts import contact_key
from config.errors import Conflict

# --- Evaluations -------------------------------------------------------------------------------


@transaction.atomic
def evaluation_submit(
    *,
    merchant: Party | None,
    anchor: Party | None,
    order_number: str,
    stars_description: int,
    stars_service: int,
    stars_logistics: int,
    stars_anchor_honesty: int | None = None,
    text: str = "",
    session=None,
    source: str = Source.WEB,
    platform_ref: str = "",
    contact: str = "",
) -> tuple[Evaluation, bool]:
    if platform_ref:
        existing = Evaluation.objects.filter(source=source, platform_ref=platform_ref).first()
        if existing is not None:
            return existing, False
    if session is not None:
        owner = session.room.owner
        if owner.kind == PartyKind.MERCHANT and merchant is None:
            merchant = owner
        elif owner.kind == PartyKind.ANCHOR and anchor is None:
            anchor = owner
    errors = {}
    if merchant is None and anchor is None:
        errors["merchant"] = _("Name the merchant or the anchor you are evaluating.")
    if merchant is not None and merchant.kind != PartyKind.MERCHANT:
        errors["merchant"] = _("This party is not a merchant.")
    if anchor is not None and anchor.kind != PartyKind.ANCHOR:
        errors["anchor"] = _("This party is not an anchor.")
    if anchor is None and stars_anchor_honesty is not None:
        errors["stars_anchor_honesty"] = _(
            "Rate the anchor's honesty only when you evaluate an anchor."
        )
    if not order_number.strip():
        errors["order_number"] = _("Give the order number.")
    if errors:
        raise ValidationError(errors)
    evaluation = Evaluation(
        merchant=merchant,
        anchor=anchor,
        session=session,
        order_number=order_number.strip(),
        stars_description=stars_description,
        stars_service=stars_service,
        stars_logistics=stars_logistics,
        stars_anchor_honesty=stars_anchor_honesty,
        text=text.strip(),
        source=source,
        platform_ref=platform_ref,
        contact_key=contact_key(email=contact) if "@" in contact else contact_key(phone=contact),
    )
    # Field validation only: the platform_ref uniqueness is the database's to decide (below), and
    # checking it here as well would turn a concurrent forward into a spurious 400.
    evaluation.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            evaluation.save()
    except IntegrityError:
        if not platform_ref:
            raise
        # Forwarded twice at the same moment: the other request stored it.
        return Evaluation.objects.get(source=source, platform_ref=platform_ref), False
    credit_events.evaluation_submitted(evaluation)
    return evaluation, True


@transaction.atomic
def evaluation_hide(*, evaluation: Evaluation, reason: str, actor: Actor) -> Evaluation:
    """Only a reviewer hides an evaluation, and always with the reason (ECL Art. 39). The row
    stays: hiding is not deleting."""
    require_staff(actor, "complaints.hide_evaluation")
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for hiding this evaluation.")})
    evaluation = Evaluation.objects.select_for_update().get(pk=evaluation.pk)
    if evaluation.hidden_at is not None:
        raise Conflict(_("This evaluation is already hidden."))
    evaluation.hidden_at = timezone.now()
    evaluation.hidden_by = actor.user
    evaluation.hidden_reason = reason.strip()
    evaluation.save(update_fields=["hidden_at", "hidden_by", "hidden_reason"])
    credit_events.evaluation_hidden(evaluation, evaluation.hidden_reason)
    return evaluation


def evaluation_summary(party: Party) -> dict:
    """Averages and counts of a party's visible evaluations (credit reads these)."""
    from django.db.models import Avg

    field_name = "merchant" if party.kind == PartyKind.MERCHANT else "anchor"
    return Evaluation.objects.filter(**{field_name: party}, hidden_at__isnull=True).aggregate(
        count=Count("id"),
        description=Avg("stars_description"),
        service=Avg("stars_service"),
        logistics=Avg("stars_logistics"),
        anchor_honesty=Avg("stars_anchor_honesty"),
    )
