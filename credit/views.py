"""Public credit pages (RULES.md §6; ECL Art. 39: the rules are public and the results
publicised): the directory, a party's credit profile, and the published rules with their history.

Everything here reads through `credit.selectors`, which decides what the public may see. A
browser may keep a page for a minute; shared caches may not, since every page carries the
language switch's CSRF token and may set its cookie (the public API, which has neither, is
cacheable by anyone). The directory and the profiles count against the same per-address limit as
the public API (`credit.api.throttling`).
"""

from __future__ import annotations

import json

from django import forms
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from accounts.models import PartyKind
from credit import selectors
from credit.api.throttling import CreditPublicThrottle

PARTIES_PER_PAGE = 25
# Long enough to spare the database a burst of readers, short enough that a new grade shows soon.
CACHE_SECONDS = 60


class DirectoryForm(forms.Form):
    """A name (every word must appear), a kind and a grade; all optional."""

    q = forms.CharField(
        label=_("Name"),
        required=False,
        max_length=selectors.QUERY_MAX_LENGTH,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("All kinds")), *PartyKind.choices]
    )
    grade = forms.ChoiceField(label=_("Grade"), required=False)

    required_css_class = "required"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        # The grades are the published scale's, which a new rule set may change.
        grades = [(name, name) for name in selectors.grade_names()]
        self.fields["grade"].choices = [("", _("All grades")), *grades]


def _throttled(request: HttpRequest) -> HttpResponse | None:
    throttle = CreditPublicThrottle()
    if throttle.allow_request(request, None):
        return None
    response = render(
        request, "credit/throttled.html", {"retry_after": throttle.wait()}, status=429
    )
    response["Retry-After"] = str(throttle.wait())
    response["Cache-Control"] = "no-store"
    return response


def _cacheable(response: HttpResponse) -> HttpResponse:
    patch_cache_control(response, private=True, max_age=CACHE_SECONDS)
    return response


@require_GET
def directory(request: HttpRequest) -> HttpResponse:
    if refused := _throttled(request):
        return refused
    form = DirectoryForm(request.GET)
    if form.is_valid():
        data = form.cleaned_data
        parties = selectors.public_parties(
            query=data["q"], kind=data["kind"] or None, grade=data["grade"] or None
        )
    else:
        parties = selectors.public_parties().none()
    page = Paginator(parties, PARTIES_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "filtered": form.is_valid() and any(form.cleaned_data.values()),
    }
    return _cacheable(render(request, "credit/directory.html", context))


@require_GET
def profile(request: HttpRequest, party_id: int) -> HttpResponse:
    if refused := _throttled(request):
        return refused
    party = selectors.public_party(party_id)
    if party is None:
        raise Http404
    context = {"profile": selectors.party_profile(party)}
    return _cacheable(render(request, "credit/profile.html", context))


@require_GET
def rules(request: HttpRequest) -> HttpResponse:
    published = selectors.published_rule_sets()
    context = {
        "published": published,
        "in_force": next(
            (item for item in published if item.standing == selectors.Standing.IN_FORCE), None
        ),
        "scheduled": [item for item in published if item.standing == selectors.Standing.SCHEDULED],
    }
    return _cacheable(render(request, "credit/rules.html", context))


@require_GET
def rule_set(request: HttpRequest, version: int) -> HttpResponse:
    published = selectors.published_rule_set(version)
    if published is None:
        raise Http404
    context = {"published": published, "explained": selectors.explain_rules(published.row)}
    return _cacheable(render(request, "credit/rule_set.html", context))


@require_GET
def rule_set_json(request: HttpRequest, version: int) -> HttpResponse:
    """The rule set exactly as published, for anyone who wants to check the arithmetic."""
    published = selectors.published_rule_set(version)
    if published is None:
        raise Http404
    row = published.row
    body = {
        "version": row.version,
        "title": row.title,
        "published_at": row.published_at.isoformat(),
        "effective_from": row.effective_from.isoformat(),
        "rules": row.rules,
    }
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False, indent=2), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="credit-rules-v{row.version}.json"'
    return _cacheable(response)
