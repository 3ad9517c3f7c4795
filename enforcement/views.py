"""Public pages: the notices of warnings, suspensions and terminations (ECL Art. 36), and the
statement of reasons a party reaches from its link, with the appeal form."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.actors import Actor
from config.errors import Conflict
from enforcement.models import PUBLIC_NOTICE_MEASURES, Measure, MeasureStatus
from enforcement.services import appeal_file, statements

NOTICE_STATUSES = (
    MeasureStatus.EXECUTED,
    MeasureStatus.APPEALED,
    MeasureStatus.UPHELD,
    MeasureStatus.LIFTED,
    MeasureStatus.REVERSED,
)


def notices(request) -> HttpResponse:
    measures = (
        Measure.objects.filter(kind__in=PUBLIC_NOTICE_MEASURES, status__in=NOTICE_STATUSES)
        .select_related("party", "violation__type")
        .only(
            "id",
            "kind",
            "status",
            "executed_at",
            "ends_at",
            "term_days",
            "lifted_at",
            "party__name",
            "party__kind",
            "violation__type__name",
            "violation__type__name_en",
            "violation__type__legal_basis",
        )
        .order_by("-executed_at", "-id")
    )
    page = Paginator(measures, 50).get_page(request.GET.get("page"))
    return render(request, "enforcement/notices.html", {"page": page})


class AppealForm(forms.Form):
    grounds = forms.CharField(
        label=_("Why the measure is wrong"),
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=10000,
    )
    contact = forms.CharField(label=_("How to reach you"), max_length=200, required=False)


def _measure(puid, token: str) -> Measure:
    measure = (
        Measure.objects.select_related("party", "violation__type")
        .filter(puid=puid, executed_at__isnull=False)
        .first()
    )
    if measure is None or not statements.token_matches(measure, token):
        raise Http404
    return measure


@never_cache
@require_http_methods(["GET", "POST"])
def statement(request, puid, token: str) -> HttpResponse:
    measure = _measure(puid, token)
    form = AppealForm(request.POST or None)
    filed = False
    if request.method == "POST" and form.is_valid():
        try:
            appeal_file(
                measure=measure,
                grounds=form.cleaned_data["grounds"],
                contact=form.cleaned_data["contact"],
                channel="web",
                actor=Actor(label=f"web:statement:{measure.puid}"),
            )
            filed = True
            measure.refresh_from_db()
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, messages)
        except Conflict as exc:
            form.add_error(None, str(exc.message))
    language = "en" if request.LANGUAGE_CODE.startswith("en") else "zh-hans"
    response = render(
        request,
        "enforcement/statement.html",
        {
            "measure": measure,
            "text": statements.render(measure, language),
            "deadline": statements.appeal_deadline(measure),
            "form": form,
            "filed": filed,
        },
    )
    response["Referrer-Policy"] = "strict-origin"
    response["X-Robots-Tag"] = "noindex"
    return response
