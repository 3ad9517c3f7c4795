"""Scores: a read-only list by grade, and a party's page that explains its score line by line
(every event's points, the weight its age leaves, what still counts; the evaluations' weighted
average) beside the history of the score. A lead may bring one party's score up to date."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from accounts.models import PartyKind
from credit import scoring
from credit.admin.common import GradeFilter, ReadOnlyAdmin, party_link
from credit.models import CreditScore, EventKind, ScoreChange

# Leads may recompute (credit.grants); one party's recompute is the same power on a smaller scale.
RECOMPUTE = "credit.add_job"
HISTORY_ROWS = 50


def _cause(request) -> str:
    return f"admin:{request.user.get_username()}"[:64]


def _kind_label(kind: str) -> str:
    if kind == "anchor":  # an agency's line for one of its anchors' deductions
        return gettext("An anchor's event (the agency's share)")
    return str(dict(EventKind.choices).get(kind, kind))


def explanation_lines(result) -> list[dict]:
    """The explanation's lines as the page shows them."""
    return [
        {
            "event_id": line.event_id,
            "url": reverse("admin:credit_creditevent_change", args=[line.event_id]),
            "kind": _kind_label(line.kind),
            "rule": line.rule,
            "points": line.points,
            "weight": f"{line.weight:.0%}",
            "counted": f"{line.counted:+.1f}",
            "occurred_at": line.occurred_at,
            "description": line.description,
        }
        for line in result.lines
    ]


@admin.register(CreditScore)
class CreditScoreAdmin(ReadOnlyAdmin):
    list_display = [
        "party_display",
        "party_kind",
        "score",
        "grade",
        "rule_set_version",
        "computed_at",
    ]
    list_filter = [GradeFilter, ("party__kind", admin.ChoicesFieldListFilter)]
    list_select_related = ["party", "rule_set"]
    search_fields = ["^party__name", "=party__platform_ref"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 100
    actions = ["recompute_selected"]
    fields = [
        "party_display",
        "score",
        "grade",
        "rule_set_version",
        "deductions",
        "additions",
        "evaluation_points",
        "computed_at",
    ]
    readonly_fields = fields

    @admin.display(description=_("party"), ordering="party_id")
    def party_display(self, obj):
        return party_link(obj.party)

    @admin.display(description=_("kind"), ordering="party__kind")
    def party_kind(self, obj):
        return obj.party.get_kind_display()

    @admin.display(description=_("rule set"), ordering="rule_set__version")
    def rule_set_version(self, obj):
        return f"v{obj.rule_set.version}"

    # --- recompute

    def has_recompute_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(RECOMPUTE)

    @admin.action(
        description=_("Recompute the selected parties' scores"), permissions=["recompute"]
    )
    def recompute_selected(self, request, queryset):
        party_ids = list(queryset.values_list("party_id", flat=True))
        for party_id in party_ids:
            scoring.update_score(party_id, cause=_cause(request))
        self.message_user(
            request,
            ngettext(
                "%d score brought up to date.", "%d scores brought up to date.", len(party_ids)
            )
            % len(party_ids),
            messages.SUCCESS,
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/recompute/",
                self.admin_site.admin_view(self.recompute_view),
                name="credit_creditscore_recompute",
            ),
            *super().get_urls(),
        ]

    def recompute_view(self, request, pk):
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:credit_creditscore_change", args=[pk]))
        if not self.has_recompute_permission(request):
            raise PermissionDenied
        score = self.get_object(request, str(pk))
        if score is None:
            raise Http404
        before = (score.score, score.grade)
        score = scoring.update_score(score.party_id, cause=_cause(request))
        if (score.score, score.grade) == before:
            text = gettext("Up to date: %(score)d (%(grade)s), unchanged.")
        else:
            text = gettext("Up to date: %(score)d (%(grade)s), was %(before)d (%(old)s).")
        self.message_user(
            request,
            text
            % {"score": score.score, "grade": score.grade, "before": before[0], "old": before[1]},
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:credit_creditscore_change", args=[pk]))

    # --- the explanation and the history

    def change_view(self, request, object_id, form_url="", extra_context=None):
        score = self.get_object(request, unquote(object_id))
        if score is not None:
            party = score.party
            row, rules = scoring.rule_set_in_force()
            result = scoring.explain(party)
            history = (
                ScoreChange.objects.filter(party_id=party.pk)
                .select_related("rule_set")
                .order_by("-at", "-id")[:HISTORY_ROWS]
            )
            extra_context = {
                **(extra_context or {}),
                "explanation": result,
                "explanation_lines": explanation_lines(result),
                "explained_under": row,
                "base": rules.base,
                "is_agency": party.kind == PartyKind.AGENCY,
                "stale": (result.score, result.grade) != (score.score, score.grade),
                "history": list(history),
                "can_recompute": self.has_recompute_permission(request),
            }
        return super().change_view(request, object_id, form_url, extra_context)
