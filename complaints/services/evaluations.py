"""Evaluations (ECL Art. 39): submitted by consumers, never edited or deleted, hidden only by a
reviewer with the reason recorded.

Only an evaluation whose order the platform vouches for weighs in credit. The platform forwards
evaluations from its app with their orders; one made on the public web form names an order
nobody has checked, so the platform is asked (webhook `evaluation.order_check`) and the
evaluation counts once it answers that the order is the consumer's, dated when it was made.
An order is evaluated once: a second evaluation of an order whose evaluation of the same merchant
or anchor already counts is kept and never counts (`duplicate_order`), or one real purchase could
carry a stream of evaluations."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.actors import Actor
from accounts.models import Party, PartyKind
from complaints import credit_events
from complaints.models import (
    COUNTED_ORDER_CHECKS,
    ORDER_KEY,
    Evaluation,
    OrderCheck,
    Source,
)
from complaints.services.base import require_staff
from complaints.services.contacts import contact_key, order_key
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
        owner = session.owner
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
    _lock_parties(evaluation)
    if _order_counts_elsewhere(evaluation):
        evaluation.order_check = OrderCheck.DUPLICATE_ORDER
    elif source == Source.API:
        evaluation.order_check = OrderCheck.FORWARDED
    else:
        evaluation.order_check = OrderCheck.PENDING
    try:
        with transaction.atomic():
            evaluation.save()
    except IntegrityError:
        if not platform_ref:
            raise
        # Forwarded twice at the same moment: the other request stored it.
        return Evaluation.objects.get(source=source, platform_ref=platform_ref), False
    if evaluation.order_check == OrderCheck.FORWARDED:
        credit_events.evaluation_submitted(evaluation)
    elif evaluation.order_check == OrderCheck.PENDING:
        _ask_for_the_order(evaluation)
    return evaluation, True


def _lock_parties(evaluation: Evaluation) -> None:
    """Evaluations of a party are decided one at a time, so that two of one order, stored or
    confirmed at the same moment, cannot both find the other not counted yet."""
    ids = sorted({evaluation.merchant_id, evaluation.anchor_id} - {None})
    # FOR NO KEY UPDATE: it queues evaluations per party without blocking the foreign-key
    # checks of rows that name the party (cases, credit events), which FOR UPDATE would, and
    # which PostgreSQL takes at commit in its own order: that could deadlock.
    parties = Party.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk")
    list(parties.values_list("pk"))


def _order_counts_elsewhere(evaluation: Evaluation) -> bool:
    """Another evaluation of the same order and of the same merchant or anchor already counts."""
    parties = Q()
    if evaluation.merchant_id:
        parties |= Q(merchant_id=evaluation.merchant_id)
    if evaluation.anchor_id:
        parties |= Q(anchor_id=evaluation.anchor_id)
    return (
        Evaluation.objects.alias(order_key=ORDER_KEY)
        .filter(
            parties,
            order_key=order_key(evaluation.order_number),
            order_check__in=COUNTED_ORDER_CHECKS,
            hidden_at__isnull=True,
        )
        .exclude(pk=evaluation.pk)
        .exists()
    )


ORDER_CHECK_TOPIC = "evaluation.order_check"
# How many waiting evaluations one run of the periodic ask sends at most: a platform that takes
# the topic for the first time gets its backlog over a few runs, not in one burst.
ASK_BATCH = 500


def _ask_for_the_order(evaluation: Evaluation) -> bool:
    """Send the platform the question; True when an endpoint took it (`order_asked_at`)."""
    from accounts.models import WebhookDelivery
    from accounts.services import webhook_emit

    event_id = webhook_emit(
        topic=ORDER_CHECK_TOPIC,
        data={
            "evaluation_id": evaluation.pk,
            "order_number": evaluation.order_number,
            "merchant_id": evaluation.merchant_id,
            "anchor_id": evaluation.anchor_id,
            "session_id": evaluation.session_id,
            "created_at": evaluation.created_at.isoformat(),
        },
    )
    if not WebhookDelivery.objects.filter(event_id=event_id).exists():
        return False
    evaluation.order_asked_at = timezone.now()
    Evaluation.objects.filter(pk=evaluation.pk).update(order_asked_at=evaluation.order_asked_at)
    return True


@transaction.atomic
def evaluation_order_ask(*, evaluation: Evaluation, actor: Actor) -> bool:
    """Ask the platform about a waiting evaluation's order again: its integration lost the
    question, or no endpoint took the topic when the evaluation was made. Returns whether an
    endpoint took it. The platform answers the same way whether asked once or twice."""
    if not actor.is_system:
        require_staff(actor, "complaints.ask_order_check")
    evaluation = Evaluation.objects.select_for_update().get(pk=evaluation.pk)
    if evaluation.source != Source.WEB or evaluation.order_check != OrderCheck.PENDING:
        raise Conflict(_("This evaluation's order is not waiting for the platform's answer."))
    if evaluation.hidden_at is not None:
        raise Conflict(_("This evaluation is hidden: it will not count whatever the answer."))
    return _ask_for_the_order(evaluation)


def order_check_taken() -> bool:
    """Whether an active webhook endpoint takes the platform's order questions."""
    from accounts.models import WebhookEndpoint

    return any(e.wants(ORDER_CHECK_TOPIC) for e in WebhookEndpoint.objects.filter(is_active=True))


def ask_unasked_orders(*, limit: int = ASK_BATCH) -> int:
    """Periodic: the waiting evaluations whose question no endpoint has taken yet are asked,
    once an endpoint takes the topic, oldest first. Returns how many an endpoint took."""
    if not order_check_taken():
        return 0
    waiting = Evaluation.objects.filter(
        source=Source.WEB,
        order_check=OrderCheck.PENDING,
        order_asked_at__isnull=True,
        hidden_at__isnull=True,
    ).order_by("created_at", "pk")
    actor = Actor.system("ask_unasked_orders")
    asked = 0
    for evaluation in waiting[:limit]:
        try:
            asked += evaluation_order_ask(evaluation=evaluation, actor=actor)
        except Conflict:
            continue  # answered or hidden since it was listed
    return asked


@transaction.atomic
def evaluation_order_checked(*, evaluation: Evaluation, found: bool, actor: Actor) -> Evaluation:
    """The platform's answer on the order of an evaluation made on the web form: `found` when
    the order is the consumer's purchase from the party evaluated. Found, the evaluation counts
    from now on, dated when it was made, unless the order's evaluation already counts; not
    found, it stays stored and visible to reviewers and never counts. The platform may correct
    a "not found" (its order records were behind) but not a confirmation: an evaluation that
    should not count is a reviewer's to hide. The same answer again is a retry and changes
    nothing; any other answer, or one on an evaluation the platform forwarded itself, is a
    Conflict."""
    evaluation = Evaluation.objects.select_for_update().get(pk=evaluation.pk)
    state, web = evaluation.order_check, evaluation.source == Source.WEB
    given = (OrderCheck.CONFIRMED, OrderCheck.DUPLICATE_ORDER) if found else (OrderCheck.NOT_FOUND,)
    if web and state in given:
        return evaluation  # a retry
    open_to = (OrderCheck.PENDING, OrderCheck.NOT_FOUND) if found else (OrderCheck.PENDING,)
    if not web or state not in open_to:
        raise Conflict(_("This evaluation's order is not waiting for the platform's answer."))
    answer = OrderCheck.NOT_FOUND
    if found:
        _lock_parties(evaluation)
        duplicate = _order_counts_elsewhere(evaluation)
        answer = OrderCheck.DUPLICATE_ORDER if duplicate else OrderCheck.CONFIRMED
    evaluation.order_check = answer
    evaluation.order_checked_at = timezone.now()
    evaluation.order_checked_by = actor.label[:150]
    evaluation.save(update_fields=["order_check", "order_checked_at", "order_checked_by"])
    # A reviewer may have hidden it meanwhile: hidden, it does not count either way.
    if answer == OrderCheck.CONFIRMED and evaluation.hidden_at is None:
        credit_events.evaluation_submitted(evaluation)
    return evaluation


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
    if evaluation.order_check in COUNTED_ORDER_CHECKS:
        credit_events.evaluation_hidden(evaluation, evaluation.hidden_reason)
    return evaluation


def evaluation_summary(party: Party) -> dict:
    """Averages and counts of a party's visible evaluations that count (credit reads these)."""
    from django.db.models import Avg

    field_name = "merchant" if party.kind == PartyKind.MERCHANT else "anchor"
    return Evaluation.objects.filter(
        **{field_name: party}, hidden_at__isnull=True, order_check__in=COUNTED_ORDER_CHECKS
    ).aggregate(
        count=Count("id"),
        description=Avg("stars_description"),
        service=Avg("stars_service"),
        logistics=Avg("stars_logistics"),
        anchor_honesty=Avg("stars_anchor_honesty"),
    )
