"""Evaluations: read-only for everyone, superusers included; a reviewer may only hide one, with
the reason recorded (ECL Art. 39)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, Value
from django.db.models.functions import Coalesce, Least
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.actors import Actor
from accounts.admin import parties_matching
from accounts.admin_forms import add_service_errors, reason_page
from accounts.admin_paging import LargeTableAdminMixin
from accounts.admin_site import Queue
from accounts.models import PartyKind
from complaints import services
from complaints.admin.common import ReasonForm
from complaints.models import (
    Evaluation,
    OrderCheck,
)
from config.errors import Conflict

# --- Evaluations --------------------------------------------------------------------------------


class HiddenFilter(admin.SimpleListFilter):
    title = _("visibility")
    parameter_name = "hidden"

    def lookups(self, request, model_admin):
        return [("no", _("Shown")), ("yes", _("Hidden by a reviewer"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(hidden_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(hidden_at__isnull=True)
        return queryset


class PartyKindFilter(admin.SimpleListFilter):
    title = _("party evaluated")
    parameter_name = "party_kind"

    def lookups(self, request, model_admin):
        return [(PartyKind.MERCHANT, _("A merchant")), (PartyKind.ANCHOR, _("An anchor"))]

    def queryset(self, request, queryset):
        if self.value() == PartyKind.MERCHANT:
            return queryset.filter(merchant__isnull=False)
        if self.value() == PartyKind.ANCHOR:
            return queryset.filter(anchor__isnull=False)
        return queryset


class LowestStarsFilter(admin.SimpleListFilter):
    """By the lowest of the ratings: "1 star" finds every evaluation with a one-star rating."""

    title = _("lowest rating")
    parameter_name = "stars"

    def lookups(self, request, model_admin):
        return [(str(n), ngettext("%d star", "%d stars", n) % n) for n in range(1, 6)]

    def queryset(self, request, queryset):
        if self.value() not in {str(n) for n in range(1, 6)}:
            return queryset
        # LEAST returns NULL on SQLite when any argument is NULL; honesty is rated only for
        # anchors, so it counts as the top mark when absent.
        return queryset.alias(
            lowest=Least(
                "stars_description",
                "stars_service",
                "stars_logistics",
                Coalesce("stars_anchor_honesty", Value(5)),
            )
        ).filter(lowest=int(self.value()))


def _stars(value: int | None) -> str:
    return "—" if value is None else "★" * value + "☆" * (5 - value)


@admin.register(Evaluation)
class EvaluationAdmin(LargeTableAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "order_number",
        "party",
        "description_stars",
        "service_stars",
        "logistics_stars",
        "honesty_stars",
        "excerpt",
        "visibility",
        "order_check",
    ]
    list_filter = [HiddenFilter, "order_check", PartyKindFilter, LowestStarsFilter, "source"]
    list_select_related = ["merchant", "anchor"]
    # Order numbers whole; the merchant or anchor in get_search_results.
    search_fields = ["=order_number"]
    show_full_result_count = False
    list_per_page = 50
    actions = ["hide_selected", "ask_platform_again"]
    fields = [
        "merchant",
        "anchor",
        "session",
        "order_number",
        "stars_description",
        "stars_service",
        "stars_logistics",
        "stars_anchor_honesty",
        "text",
        "source",
        "platform_ref",
        "created_at",
        "hidden_at",
        "hidden_by",
        "hidden_reason",
        "order_check",
        "order_checked_at",
        "order_checked_by",
        "order_asked_at",
    ]
    readonly_fields = fields

    # ECL Art. 39: nobody edits or deletes an evaluation -- a superuser neither.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_hide_permission(self, request):
        return request.user.has_perm("complaints.hide_evaluation")

    def has_ask_permission(self, request):
        return request.user.has_perm("complaints.ask_order_check")

    def get_search_results(self, request, queryset, search_term):
        filtered = queryset
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        # The parties first, then their evaluations through the (merchant, created_at) and
        # (anchor, created_at) indexes: no join of every evaluation to compare names.
        if search_term.strip():
            parties = parties_matching(search_term).values("pk")
            queryset |= filtered.filter(Q(merchant__in=parties) | Q(anchor__in=parties))
        return queryset, may_have_duplicates

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # already gone without the permission; never back
        return actions

    @admin.display(description=_("evaluated"))
    def party(self, obj):
        return " / ".join(str(p) for p in (obj.merchant, obj.anchor) if p is not None)

    @admin.display(description=_("description"), ordering="stars_description")
    def description_stars(self, obj):
        return _stars(obj.stars_description)

    @admin.display(description=_("service"), ordering="stars_service")
    def service_stars(self, obj):
        return _stars(obj.stars_service)

    @admin.display(description=_("logistics"), ordering="stars_logistics")
    def logistics_stars(self, obj):
        return _stars(obj.stars_logistics)

    @admin.display(description=_("anchor's honesty"), ordering="stars_anchor_honesty")
    def honesty_stars(self, obj):
        return _stars(obj.stars_anchor_honesty)

    @admin.display(description=_("text"))
    def excerpt(self, obj):
        return obj.text[:60] + ("…" if len(obj.text) > 60 else "")

    @admin.display(description=_("shown"), boolean=True, ordering="hidden_at")
    def visibility(self, obj):
        return obj.hidden_at is None

    def _hide(self, request, evaluations, reason) -> tuple[int, list[str]]:
        actor, hidden, problems = Actor.for_user(request.user), 0, []
        for evaluation in evaluations:
            try:
                services.evaluation_hide(evaluation=evaluation, reason=reason, actor=actor)
                hidden += 1
            except Conflict as exc:
                problems.append(f"{evaluation}: {exc.message}")
        return hidden, problems

    @admin.action(
        description=_("Hide the selected evaluations, with a reason"), permissions=["hide"]
    )
    def hide_selected(self, request, queryset):
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            try:
                hidden, problems = self._hide(request, queryset, reason)
            except ValidationError as exc:
                add_service_errors(form, exc, {})
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
            else:
                for problem in problems:
                    self.message_user(request, problem, messages.WARNING)
                self.message_user(
                    request,
                    ngettext("%d evaluation hidden.", "%d evaluations hidden.", hidden) % hidden,
                    messages.SUCCESS,
                )
                return None
        return reason_page(
            self,
            request,
            objects=list(queryset.select_related("merchant", "anchor")),
            form=form,
            title=_("Hide evaluations"),
            intro=_(
                "Hidden evaluations stay on record with your name and reason; they are no "
                "longer shown or counted."
            ),
            button=_("Hide"),
            action="hide_selected",
        )

    @admin.action(
        description=_("Ask the platform again about the orders of the selected evaluations"),
        permissions=["ask"],
    )
    def ask_platform_again(self, request, queryset):
        if not services.order_check_taken():
            self.message_user(
                request,
                _(
                    "No active webhook endpoint takes the topic evaluation.order_check: add it "
                    "to the platform's endpoint first. Nothing was sent."
                ),
                messages.ERROR,
            )
            return None
        actor, asked, problems = Actor.for_user(request.user), 0, []
        for evaluation in queryset.order_by("created_at", "pk"):
            try:
                asked += services.evaluation_order_ask(evaluation=evaluation, actor=actor)
            except Conflict as exc:
                problems.append(f"{evaluation}: {exc.message}")
        for problem in problems:
            self.message_user(request, problem, messages.WARNING)
        self.message_user(
            request,
            ngettext(
                "The platform was asked about %d order.",
                "The platform was asked about %d orders.",
                asked,
            )
            % asked,
            messages.SUCCESS if asked else messages.WARNING,
        )
        return None

    def get_urls(self):
        return [
            path(
                "<int:pk>/hide/",
                self.admin_site.admin_view(self.hide_view),
                name="complaints_evaluation_hide",
            ),
            *super().get_urls(),
        ]

    def hide_view(self, request, pk):
        if not self.has_hide_permission(request):
            raise PermissionDenied
        evaluation = get_object_or_404(
            Evaluation.objects.select_related("merchant", "anchor"), pk=pk
        )
        change_url = reverse("admin:complaints_evaluation_change", args=[pk])
        form = ReasonForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                services.evaluation_hide(
                    evaluation=evaluation,
                    reason=form.cleaned_data["reason"],
                    actor=Actor.for_user(request.user),
                )
            except ValidationError as exc:
                add_service_errors(form, exc, {})
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
            except Conflict as exc:
                self.message_user(request, str(exc.message), messages.ERROR)
                return HttpResponseRedirect(change_url)
            else:
                self.message_user(request, _("Evaluation hidden."), messages.SUCCESS)
                return HttpResponseRedirect(change_url)
        return reason_page(
            self,
            request,
            objects=[evaluation],
            form=form,
            title=_("Hide an evaluation"),
            intro=_(
                "Hidden evaluations stay on record with your name and reason; they are no "
                "longer shown or counted."
            ),
            button=_("Hide"),
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        evaluation = self.get_object(request, unquote(object_id))
        extra_context = {
            **(extra_context or {}),
            "can_hide": evaluation is not None
            and evaluation.hidden_at is None
            and self.has_hide_permission(request),
        }
        return super().change_view(request, object_id, form_url, extra_context)


# The platform answers an order check within seconds when its integration works: evaluations
# piling up here mean it does not (no endpoint for `evaluation.order_check`, or failing ones).
admin.site.register_queue(
    Queue(
        key="evaluations_order_pending",
        title=_("Evaluations waiting for the platform to confirm the order"),
        permission="complaints.view_evaluation",
        url_name="admin:complaints_evaluation_changelist",
        query="order_check__exact=pending",
        count=lambda request: Evaluation.objects.filter(order_check=OrderCheck.PENDING).count(),
        order=36,
    )
)
