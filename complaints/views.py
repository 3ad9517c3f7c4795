"""The consumers' side: filing complaints, reports and evaluations, and following a case.

No account is needed. A filed case is reached only through its private tracking link (the code
and an HMAC token, `services.tracking_token`); every page under it answers an unknown code and
a wrong token with the same 404, and sends headers that keep the link out of caches and out of
other sites' logs. Anti-abuse is `complaints.abuse`: each counted action takes a slot first and
gives it back when nothing came of it.

Forms follow POST/redirect/GET; pressing a form's Search button is the one POST that re-renders
instead (see `complaints.forms`).
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.actors import Actor
from complaints import abuse, services
from complaints.forms import (
    AddInfoForm,
    ComplaintForm,
    EvaluationForm,
    RateForm,
    ReportForm,
    TrackFindForm,
    WithdrawForm,
)
from complaints.models import Case, CaseEvent, CaseStatus, Source
from config.errors import Conflict

CONSUMER = Actor(label="consumer")
# The session remembers the last case this browser filed, for the confirmation page; the page
# URL then carries no secret.
FILED_SESSION_KEY = "complaints.filed"
# Evidence the consumer may see again: theirs, or what the platform forwarded for them. Images a
# reviewer attached are working material.
CONSUMER_EVIDENCE = ("consumer", "api")
RATABLE = (CaseStatus.DECIDED, CaseStatus.CLOSED, CaseStatus.NOT_ACCEPTED)


# --- Responses -----------------------------------------------------------------------------------


def _private(response: HttpResponse) -> HttpResponse:
    """Headers for pages whose URL, or whose content, is the secret tracking link.

    `strict-origin` rather than `no-referrer`: both keep the path (and so the token) out of every
    Referer header, but under `no-referrer` browsers send `Origin: null` with the page's own form
    posts, which Django's CSRF check must refuse -- the consumer could then never withdraw,
    confirm or add anything.
    """
    response["Cache-Control"] = "no-store, private"
    response["Referrer-Policy"] = "strict-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _throttled(request, template: str, context: dict, slot: abuse.Slot) -> HttpResponse:
    response = render(request, template, {**context, "throttled": slot}, status=429)
    response["Retry-After"] = str(slot.retry_after)
    return response


def _not_found(request) -> HttpResponse:
    # One page for an unknown code, a wrong token and an item of someone else's case.
    return render(request, "complaints/track_not_found.html", status=404)


def _add_service_errors(form, exc: ValidationError) -> None:
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, errors in exc.message_dict.items():
        target = field if field in form.fields and field != NON_FIELD_ERRORS else None
        form.add_error(target, errors)


def _kept(data, form_class) -> dict[str, str]:
    """What was typed, to re-render a form unbound (no errors shown) after a search."""
    return {name: data.get(name) for name in form_class.base_fields if name in data}


# --- Filing a complaint or report ----------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def complaint_new(request: HttpRequest) -> HttpResponse:
    return _file_case(request, ComplaintForm, "complaints/complaint_form.html")


@require_http_methods(["GET", "POST"])
def report_new(request: HttpRequest) -> HttpResponse:
    return _file_case(request, ReportForm, "complaints/report_form.html")


def _form_page(request, template, form, *, files_dropped=False, status=200) -> HttpResponse:
    return render(request, template, {"form": form, "files_dropped": files_dropped}, status=status)


def _search_round_trip(request, form_class, template) -> HttpResponse | None:
    """The Search button's answer: the form again, as typed, with the matches. None when this
    POST is a submission instead."""
    if request.POST.get("action") != "search":
        return None
    kept = _kept(request.POST, form_class)
    files_dropped = bool(request.FILES)
    slot = abuse.searches_per_address().take(abuse.address_ident(request))
    if not slot.allowed:
        context = {"form": form_class(initial={**kept, "q": ""}), "files_dropped": files_dropped}
        return _throttled(request, template, context, slot)
    return _form_page(request, template, form_class(initial=kept), files_dropped=files_dropped)


def _submission_slots(request, form_class, template, limit: abuse.Limit):
    """(slot, None) when this submission may go ahead, else (None, the refusal page).

    Every submission counts as an attempt; `limit` counts what gets stored and is given back by
    the caller when nothing is. A filled honeypot keeps its slot: a bot's tries count.
    """
    address = abuse.address_ident(request)
    kept = {"form": form_class(initial=_kept(request.POST, form_class))}
    attempt = abuse.attempts_per_address().take(address)
    if not attempt.allowed:
        return None, _throttled(request, template, kept, attempt)
    slot = limit.take(address)
    if not slot.allowed:
        return None, _throttled(request, template, kept, slot)
    if abuse.honeypot_filled(request.POST):
        data = request.POST.copy()
        data[abuse.HONEYPOT] = ""
        form = form_class(data=data)
        form.is_valid()
        form.add_error(None, abuse.generic_refusal())
        return None, _form_page(request, template, form, files_dropped=bool(request.FILES))
    return slot, None


def _blank_form_page(request, form_class, template) -> HttpResponse:
    """The form on GET. Other pages may link here with ?merchant=… or ?q=… to start from a party;
    a search asked for in the address costs a search slot like the Search button does."""
    kept = _kept(request.GET, form_class)
    if kept.get("q", "").strip():
        slot = abuse.searches_per_address().take(abuse.address_ident(request))
        if not slot.allowed:
            context = {"form": form_class(initial={**kept, "q": ""}), "files_dropped": False}
            return _throttled(request, template, context, slot)
    return _form_page(request, template, form_class(initial=kept))


def _file_case(request, form_class, template) -> HttpResponse:
    if request.method == "GET":
        return _blank_form_page(request, form_class, template)
    response = _search_round_trip(request, form_class, template)
    if response is not None:
        return response
    slot, refusal = _submission_slots(request, form_class, template, abuse.filings_per_address())
    if refusal is not None:
        return refusal
    form = form_class(data=request.POST, files=request.FILES)
    if not form.is_valid():
        slot.release()
        return _form_page(request, template, form, files_dropped=bool(request.FILES))
    submission, earlier = _claim_submission(request)
    if submission is None:
        slot.release()
        if earlier is not None:
            return _show_filed(request, earlier, again=True)
        form.add_error(None, abuse.submission_in_progress())
        return _form_page(request, template, form, files_dropped=bool(request.FILES))
    contact_slot = None
    if form.contact_key:
        contact_slot = abuse.filings_per_contact().take(form.contact_key)
        if not contact_slot.allowed:
            slot.release()
            submission.release()
            kept = {"form": form_class(initial=_kept(request.POST, form_class))}
            return _throttled(request, template, kept, contact_slot)
    try:
        filed = services.case_file(
            data=form.case_input(language=translation.get_language()),
            source=Source.WEB,
            actor=CONSUMER,
        )
    except ValidationError as exc:
        slot.release()
        submission.release()
        if contact_slot is not None:
            contact_slot.release()
        _add_service_errors(form, exc)
        return _form_page(request, template, form, files_dropped=bool(request.FILES))
    except BaseException:
        submission.release()
        raise
    submission.stored(filed.case.pk)
    return _show_filed(request, filed.case.pk)


def _claim_submission(request) -> tuple[abuse.Submission | None, int | None]:
    """(the claim, None) for the first POST of a form page; (None, what it stored) for a POST
    after it; (None, None) while the first is still being filed."""
    submission = abuse.Submission.claim(request.POST)
    if submission.first:
        return submission, None
    earlier = submission.outcome()
    if earlier is not None:
        return None, earlier
    # The first stored nothing (and gave the token back) or is still running.
    submission = abuse.Submission.claim(request.POST)
    return (submission, None) if submission.first else (None, None)


def _show_filed(request, pk: int, *, again: bool = False) -> HttpResponse:
    request.session[FILED_SESSION_KEY] = pk
    if again:
        messages.info(
            request,
            _("This form had already been sent: here is what it filed. Nothing was filed twice."),
        )
    return redirect("complaints:filed")


@require_GET
def filed(request: HttpRequest) -> HttpResponse:
    """The confirmation: the tracking code and the private link, shown once filed."""
    pk = request.session.get(FILED_SESSION_KEY)
    case = Case.objects.filter(pk=pk).first() if pk else None
    if case is None:
        return redirect("landing")
    path = reverse("complaints:track", args=[case.tracking_code, services.tracking_token(case)])
    context = {
        "case": case,
        "tracking_link": request.build_absolute_uri(path),
        "emailed": bool(case.contact_email_enc),
    }
    return _private(render(request, "complaints/filed.html", context))


# --- Evaluations ---------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def evaluation_new(request: HttpRequest) -> HttpResponse:
    template = "complaints/evaluation_form.html"
    if request.method == "GET":
        return _blank_form_page(request, EvaluationForm, template)
    response = _search_round_trip(request, EvaluationForm, template)
    if response is not None:
        return response
    slot, refusal = _submission_slots(
        request, EvaluationForm, template, abuse.evaluations_per_address()
    )
    if refusal is not None:
        return refusal
    form = EvaluationForm(data=request.POST)
    if not form.is_valid():
        slot.release()
        return _form_page(request, template, form)
    data = form.cleaned_data
    submission, earlier = _claim_submission(request)
    if submission is None:
        slot.release()
        if earlier is not None:
            return redirect("complaints:evaluation_thanks")
        form.add_error(None, abuse.submission_in_progress())
        return _form_page(request, template, form)
    order_slot = abuse.evaluations_per_order().take(abuse.order_ident(data["order_number"]))
    if not order_slot.allowed:
        slot.release()
        submission.release()
        kept = {"form": EvaluationForm(initial=_kept(request.POST, EvaluationForm))}
        return _throttled(request, template, kept, order_slot)
    try:
        evaluation, _created = services.evaluation_submit(
            merchant=data.get("merchant"),
            anchor=data.get("anchor"),
            session=data.get("session"),
            order_number=data["order_number"],
            stars_description=data["stars_description"],
            stars_service=data["stars_service"],
            stars_logistics=data["stars_logistics"],
            stars_anchor_honesty=data.get("stars_anchor_honesty"),
            text=data.get("text", ""),
            source=Source.WEB,
        )
    except ValidationError as exc:
        slot.release()
        order_slot.release()
        submission.release()
        _add_service_errors(form, exc)
        return _form_page(request, template, form)
    except BaseException:
        submission.release()
        raise
    submission.stored(evaluation.pk)
    return redirect("complaints:evaluation_thanks")


@require_GET
def evaluation_thanks(request: HttpRequest) -> HttpResponse:
    return render(request, "complaints/evaluation_thanks.html")


# --- Tracking ------------------------------------------------------------------------------------


def tracked(view):
    """Resolve the case from the link, or answer 404 -- the same for every way of being wrong.

    The wrapped view gets (request, case, token, …) and its response leaves with the private
    headers.
    """

    @wraps(view)
    def wrapper(request, code: str, token: str, *args, **kwargs):
        address = abuse.address_ident(request)
        misses = abuse.tracking_misses_per_address()
        refused = misses.exceeded(address)
        if refused is not None:
            return _private(_throttled(request, "complaints/throttled.html", {}, refused))
        case = services.case_for_tracking(code, token)
        if case is None:
            misses.take(address)
            return _private(_not_found(request))
        return _private(view(request, case, token, *args, **kwargs))

    return wrapper


def _track_url(case: Case, token: str) -> str:
    return reverse("complaints:track", args=[case.tracking_code, token])


def _evidence_room(case: Case) -> int:
    return max(services.MAX_EVIDENCE - case.evidence.count(), 0)


def _yuan(fen: int | None) -> str:
    return "" if fen is None else f"{fen // 100}.{fen % 100:02d}"


def _track_page(request, case: Case, token: str, **forms) -> HttpResponse:
    events = list(case.events.filter(public=True).order_by("at", "id"))
    asked = next(
        (e for e in reversed(events) if e.kind == CaseEvent.Kind.INFO_REQUESTED),
        None,
    )
    context = {
        "case": case,
        "token": token,
        "track_url": _track_url(case, token),
        "events": events,
        "asked": asked if case.status == CaseStatus.AWAITING_CONSUMER else None,
        "evidence": case.evidence.filter(added_by__in=CONSUMER_EVIDENCE),
        "refund": _yuan(case.refund_fen),
        "compensation": _yuan(case.compensation_fen),
        "can_add": case.is_open,
        "can_withdraw": case.is_open,
        "can_confirm": case.status == CaseStatus.DECIDED,
        "can_rate": case.status in RATABLE and case.handling_rating is None,
        "add_form": forms.get("add_form") or AddInfoForm(room=_evidence_room(case)),
        "rate_form": forms.get("rate_form") or RateForm(),
    }
    return render(request, "complaints/track.html", context)


@require_GET
@tracked
def track(request, case: Case, token: str) -> HttpResponse:
    return _track_page(request, case, token)


def _tracking_slots(request, case: Case):
    """Per address and per case; (slots, None) or (None, the 429 page)."""
    taken = []
    for limit, ident in (
        (abuse.tracking_posts_per_address(), abuse.address_ident(request)),
        (abuse.tracking_posts_per_case(), str(case.pk)),
    ):
        slot = limit.take(ident)
        if not slot.allowed:
            for earlier in taken:
                earlier.release()
            return None, _throttled(request, "complaints/throttled.html", {}, slot)
        taken.append(slot)
    return taken, None


def _release(slots) -> None:
    for slot in slots:
        slot.release()


@require_POST
@tracked
def track_add(request, case: Case, token: str) -> HttpResponse:
    slots, refusal = _tracking_slots(request, case)
    if refusal is not None:
        return refusal
    form = AddInfoForm(request.POST, request.FILES, room=_evidence_room(case))
    if form.is_valid():
        try:
            services.case_consumer_add_info(
                case=case,
                text=form.cleaned_data["text"],
                images=form.cleaned_data["evidence"],
            )
        except ValidationError as exc:
            _add_service_errors(form, exc)
        except Conflict as exc:
            _release(slots)
            messages.error(request, exc.message)
            return redirect(_track_url(case, token))
        else:
            messages.success(request, _("Thank you. What you added is now with the reviewer."))
            return redirect(_track_url(case, token))
    _release(slots)
    return _track_page(request, case, token, add_form=form)


@require_http_methods(["GET", "POST"])
@tracked
def track_withdraw(request, case: Case, token: str) -> HttpResponse:
    """Withdrawing cannot be undone, so it has a page of its own that asks first."""
    if not case.is_open:
        messages.error(request, _("This case can no longer be withdrawn."))
        return redirect(_track_url(case, token))
    form = WithdrawForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        slots, refusal = _tracking_slots(request, case)
        if refusal is not None:
            return refusal
        try:
            services.case_withdraw(case=case, reason=form.cleaned_data["reason"], actor=CONSUMER)
        except Conflict as exc:
            _release(slots)
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Your case is withdrawn."))
        return redirect(_track_url(case, token))
    context = {"case": case, "form": form, "track_url": _track_url(case, token)}
    return render(request, "complaints/track_withdraw.html", context)


@require_POST
@tracked
def track_confirm(request, case: Case, token: str) -> HttpResponse:
    slots, refusal = _tracking_slots(request, case)
    if refusal is not None:
        return refusal
    try:
        services.case_confirm(case=case)
    except Conflict as exc:
        _release(slots)
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Thank you for confirming. Your case is closed."))
    return redirect(_track_url(case, token))


@require_POST
@tracked
def track_rate(request, case: Case, token: str) -> HttpResponse:
    slots, refusal = _tracking_slots(request, case)
    if refusal is not None:
        return refusal
    form = RateForm(request.POST)
    if not form.is_valid():
        _release(slots)
        return _track_page(request, case, token, rate_form=form)
    try:
        services.case_rate(
            case=case, rating=form.cleaned_data["rating"], comment=form.cleaned_data["comment"]
        )
    except Conflict as exc:
        _release(slots)
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Thank you for rating how your case was handled."))
    return redirect(_track_url(case, token))


@require_GET
@tracked
def track_evidence(request, case: Case, token: str, pk: int) -> HttpResponse:
    """An evidence image, to the holder of the link only; MEDIA_ROOT is never served by URL."""
    evidence = case.evidence.filter(pk=pk, added_by__in=CONSUMER_EVIDENCE).first()
    if evidence is None:
        return _not_found(request)
    try:
        handle = default_storage.open(evidence.file, "rb")
    except FileNotFoundError:
        return _not_found(request)
    response = FileResponse(handle, content_type=evidence.content_type)
    response["Content-Disposition"] = f'inline; filename="evidence-{evidence.pk}"'
    return response


@require_http_methods(["GET", "POST"])
def track_find(request: HttpRequest) -> HttpResponse:
    """Paste a tracking link (from a chat, a note) to open it."""
    form = TrackFindForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        address = abuse.address_ident(request)
        misses = abuse.tracking_misses_per_address()
        refused = misses.exceeded(address)
        if refused is not None:
            return _private(_throttled(request, "complaints/throttled.html", {}, refused))
        code, token = form.cleaned_data["link"]
        case = services.case_for_tracking(code, token)
        if case is not None:
            return redirect(_track_url(case, token))
        misses.take(address)
        form.add_error("link", _("This link does not open a case. Copy the whole link again."))
        status = 404
    return _private(render(request, "complaints/track_find.html", {"form": form}, status=status))
