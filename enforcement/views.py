"""Public pages: the notices of warnings, suspensions and terminations (ECL Art. 36), and the
statement of reasons a party reaches from its link, with the appeal form.

The notice page shows what the law asks to publish and nothing more: the party's public name and
kind, the rule broken, the measure, its term and where it stands. Never the reasons, which may
name consumers, and never an identity number.

A statement is reached only through its private link (the measure's puid and an HMAC token,
`services.statements.token`). An unknown puid and a wrong token get the same 404, and every
response under the link carries headers that keep it out of caches, search engines and other
sites' logs. Anti-abuse is `complaints.abuse`'s limiter: a link that opens nothing and an appeal
sent each count against the client's address; an appeal that is not filed gives its count back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from accounts.actors import Actor
from complaints import abuse
from config.errors import Conflict
from enforcement.forms import AppealForm, NoticeFilterForm
from enforcement.models import (
    PUBLIC_NOTICE_MEASURES,
    Appeal,
    Measure,
    MeasureKind,
    MeasureStatus,
)
from enforcement.services import appeal_file, statements
from enforcement.services.appeals import APPEALABLE

NOTICES_PER_PAGE = 25
# The statuses of measures executed at some point, and what the public reads for each ("executed"
# is the workbench's word). A notice stays published after the measure is lifted or reversed, with
# its status saying so, so that the public record is corrected rather than silently withdrawn.
NOTICE_STATUS_LABELS = {
    MeasureStatus.EXECUTED: gettext_lazy("In effect"),
    MeasureStatus.APPEALED: gettext_lazy("In effect, under appeal"),
    MeasureStatus.UPHELD: gettext_lazy("In effect, upheld on appeal"),
    MeasureStatus.LIFTED: gettext_lazy("Lifted"),
    MeasureStatus.REVERSED: gettext_lazy("Reversed on appeal"),
}


# --- Public notices ------------------------------------------------------------------------------


def _notices(form: NoticeFilterForm):
    measures = Measure.objects.filter(
        kind__in=PUBLIC_NOTICE_MEASURES,
        status__in=list(NOTICE_STATUS_LABELS),
        executed_at__isnull=False,
    )
    for word in form.words():
        measures = measures.filter(party__name__icontains=word)
    if form.cleaned_data.get("kind"):
        measures = measures.filter(kind=form.cleaned_data["kind"])
    # Only the columns the page shows: the reasons and the facts never leave the database here.
    return (
        measures.select_related("party", "violation__type")
        .only(
            "kind",
            "status",
            "executed_at",
            "ends_at",
            "lifted_at",
            "party__name",
            "party__kind",
            "violation__type__name",
            "violation__type__name_en",
            "violation__type__legal_basis",
        )
        .order_by("-executed_at", "-id")
    )


@dataclass(frozen=True)
class Notice:
    """One published notice: everything the page may show, and nothing else."""

    party_name: str
    party_kind: str
    violation: str
    legal_basis: str
    measure: str
    taken_on: date
    until: date | None
    indefinite: bool
    status: str
    lifted_on: date | None

    @classmethod
    def of(cls, measure: Measure, *, english: bool) -> Notice:
        vtype = measure.violation.type
        return cls(
            party_name=measure.party.name,
            party_kind=measure.party.get_kind_display(),
            violation=vtype.name_en if english else vtype.name,
            legal_basis=vtype.legal_basis,
            measure=measure.get_kind_display(),
            taken_on=timezone.localdate(measure.executed_at),
            until=timezone.localdate(measure.ends_at) if measure.ends_at else None,
            # A warning has no term; anything else without an end runs until lifted.
            indefinite=measure.ends_at is None and measure.kind != MeasureKind.WARNING,
            status=NOTICE_STATUS_LABELS[measure.status],
            # A reversal keeps the date of an earlier lift; only a lift is dated here.
            lifted_on=timezone.localdate(measure.lifted_at)
            if measure.status == MeasureStatus.LIFTED and measure.lifted_at
            else None,
        )


@require_GET
def notices(request: HttpRequest) -> HttpResponse:
    form = NoticeFilterForm(request.GET)
    measures = _notices(form) if form.is_valid() else Measure.objects.none()
    page = Paginator(measures, NOTICES_PER_PAGE).get_page(request.GET.get("page"))
    english = request.LANGUAGE_CODE == "en"
    page.object_list = [Notice.of(measure, english=english) for measure in page.object_list]
    context = {
        "form": form,
        "page": page,
        "filtered": form.is_valid() and any(form.cleaned_data.values()),
    }
    return render(request, "enforcement/notices.html", context)


# --- Statements of reasons and appeals -----------------------------------------------------------


def _setting(name: str, default: int) -> int:
    """The limits are settings an operator (or a test) may change, with defaults like the
    complaint forms' finer limits."""
    return getattr(settings, name, default)


def statement_misses_per_address() -> abuse.Limit:
    """Links that open nothing. A token is 128 bits, so guessing is hopeless anyway; this keeps
    someone trying from costing a query per try."""
    return abuse.Limit(
        "statement-miss",
        _setting("ENFORCEMENT_STATEMENT_MISSES_PER_ADDRESS_HOUR", 30),
        abuse.HOUR,
        ngettext_lazy(
            "We open at most %(limit)s unknown statement link per hour from one network.",
            "We open at most %(limit)s unknown statement links per hour from one network.",
            "limit",
        ),
    )


def appeals_per_address() -> abuse.Limit:
    return abuse.Limit(
        "appeals-address",
        _setting("ENFORCEMENT_APPEALS_PER_ADDRESS_HOUR", 10),
        abuse.HOUR,
        ngettext_lazy(
            "We accept at most %(limit)s appeal per hour from one network.",
            "We accept at most %(limit)s appeals per hour from one network.",
            "limit",
        ),
    )


def _private(response: HttpResponse) -> HttpResponse:
    """Headers for every page under a statement link (see complaints.views._private for why
    `strict-origin` and not `no-referrer`: the appeal form's CSRF check needs the Origin)."""
    response["Cache-Control"] = "no-store, private"
    response["Referrer-Policy"] = "strict-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _throttled(request, slot: abuse.Slot) -> HttpResponse:
    response = render(request, "enforcement/throttled.html", {"throttled": slot}, status=429)
    response["Retry-After"] = str(slot.retry_after)
    return _private(response)


def _measure(puid, token: str) -> Measure | None:
    measure = (
        Measure.objects.select_related("party", "violation__type")
        .filter(puid=puid, executed_at__isnull=False)
        .first()
    )
    if measure is None or not statements.token_matches(measure, token):
        return None
    return measure


def _appeal_of(measure: Measure) -> Appeal | None:
    return Appeal.objects.filter(measure=measure).first()


def _can_appeal(measure: Measure, appeal: Appeal | None, deadline) -> bool:
    """What appeal_file would accept, to decide whether to show the form at all."""
    if appeal is not None or measure.status not in APPEALABLE:
        return False
    return deadline is None or timezone.now() <= deadline


def _statement_page(request, measure: Measure, form: AppealForm | None = None) -> HttpResponse:
    language = "en" if request.LANGUAGE_CODE == "en" else "zh-hans"
    appeal = _appeal_of(measure)
    deadline = statements.appeal_deadline(measure)
    can_appeal = _can_appeal(measure, appeal, deadline)
    context = {
        "measure": measure,
        "text": statements.render(measure, language),
        "appeal": appeal,
        "deadline": deadline,
        "can_appeal": can_appeal,
        "form": (form or AppealForm()) if can_appeal else None,
    }
    return render(request, "enforcement/statement.html", context)


def _add_service_errors(form: AppealForm, exc: ValidationError) -> None:
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, errors in exc.message_dict.items():
        target = field if field in form.fields and field != NON_FIELD_ERRORS else None
        form.add_error(target, errors)


def _appeal(request, measure: Measure, address: str) -> HttpResponse:
    """File the appeal the form carries: POST/redirect/GET, the outcome told as a message."""
    slot = appeals_per_address().take(address)
    if not slot.allowed:
        return _throttled(request, slot)
    form = AppealForm(request.POST)
    if not form.is_valid():
        slot.release()
        return _statement_page(request, measure, form)
    try:
        appeal_file(
            measure=measure,
            grounds=form.cleaned_data["grounds"],
            contact=form.cleaned_data["contact"],
            channel=Appeal.Channel.WEB,
            actor=Actor(label=f"web:statement:{measure.puid}"),
        )
    except ValidationError as exc:
        slot.release()
        _add_service_errors(form, exc)
        return _statement_page(request, measure, form)
    except Conflict as exc:
        # Appealed already (a second tab, a double click) or the window closed meanwhile.
        slot.release()
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _(
                "Your appeal has been received. Someone who took no part in the decision will "
                "decide it, and you will be told the outcome."
            ),
        )
    return redirect("enforcement:statement", measure.puid, statements.token(measure))


@require_http_methods(["GET", "POST"])
def statement(request: HttpRequest, puid, token: str) -> HttpResponse:
    address = abuse.address_ident(request)
    misses = statement_misses_per_address()
    refused = misses.exceeded(address)
    if refused is not None:
        return _throttled(request, refused)
    measure = _measure(puid, token)
    if measure is None:
        misses.take(address)
        return _private(render(request, "enforcement/statement_not_found.html", status=404))
    if request.method == "POST":
        return _private(_appeal(request, measure, address))
    return _private(_statement_page(request, measure))
