"""Measures in the admin: the list, the four-eyes approval queue, overdue notices, the measure page
(read-only, with everything the measure did) with its actions, and the exports for the
regulators."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AdminDateWidget
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.admin_paging import LargeTableAdminMixin
from accounts.admin_site import Queue
from accounts.models import Restriction
from config.api.lookups import storable_id
from enforcement import services
from enforcement.admin.common import (
    EmptyForm,
    EventInline,
    ObjectAction,
    ObjectActionsMixin,
    ReadOnlyInline,
    ReasonForm,
    admin_link,
    yuan,
)
from enforcement.admin.ledger import LedgerEntryInline
from enforcement.models import (
    IN_EFFECT,
    Appeal,
    AuthorityLevel,
    Measure,
    MeasureEvent,
    MeasureKind,
    MeasureStatus,
    Referral,
)
from enforcement.services import exports

# Notices to correct whose date passed without a correction: escalated to the leads by the beat
# task (services.escalate_overdue_notices), until someone marks them corrected.
OVERDUE_NOTICES = {
    "kind": MeasureKind.NOTICE_TO_CORRECT,
    "status__in": IN_EFFECT,
    "escalated_at__isnull": False,
    "corrected_at__isnull": True,
}
MEASURE_QUEUES = {
    # measure_queue_idx: the partial index on proposed rows.
    "approvals": (
        _("Severe, awaiting a lead's approval (oldest first)"),
        {"status": MeasureStatus.PROPOSED, "severe": True},
        ["proposed_at", "id"],
    ),
    "overdue_notices": (
        _("Notices to correct, overdue"),
        OVERDUE_NOTICES,
        ["correct_by", "id"],
    ),
    # A handful at most: what the worker could not carry out, for a lead to retry or leave.
    "failed": (
        _("Failed to carry out"),
        {"status": MeasureStatus.FAILED},
        ["-proposed_at", "-id"],
    ),
}


class MeasureQueueFilter(admin.SimpleListFilter):
    title = _("queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [(key, title) for key, (title, _filter, _order) in MEASURE_QUEUES.items()]

    def queryset(self, request, queryset):
        if self.value() in MEASURE_QUEUES:
            return queryset.filter(**MEASURE_QUEUES[self.value()][1])
        return queryset


class PartyFilter(admin.SimpleListFilter):
    """One party's measures (linked from the proposal page); shown only while in use, as no one
    would pick a party from a list of every party."""

    title = _("party")
    parameter_name = "party"

    def lookups(self, request, model_admin):
        return [(self.value(), _("This party"))] if self.value() else []

    def queryset(self, request, queryset):
        if (pk := storable_id(self.value() or "")) is not None:
            return queryset.filter(party_id=pk)
        return queryset


# --- Actions ----------------------------------------------------------------------------------


class NoteForm(forms.Form):
    note = forms.CharField(
        label=_("note (recorded)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "vLargeTextField"}),
    )


class CorrectedForm(forms.Form):
    # Not required here: the service says why an empty note is refused, in one place.
    note = forms.CharField(
        label=_("how the party corrected it"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "vLargeTextField"}),
    )


def _run_approve(measure, form, actor):
    measure = services.measure_approve(measure=measure, actor=actor, note=form.cleaned_data["note"])
    return _("Approved; the measure is %(status)s.") % {"status": measure.get_status_display()}


def _run_reject(measure, form, actor):
    services.measure_reject(measure=measure, actor=actor, note=form.cleaned_data["note"])
    return _("Rejected; nothing is done to the party.")


def _run_retry(measure, form, actor):
    measure = services.measure_execute(measure=measure, actor=actor)
    return _("Carried out again; the measure is %(status)s.") % {
        "status": measure.get_status_display()
    }


def _run_fail(measure, form, actor):
    services.measure_fail(measure=measure, reason=form.cleaned_data["reason"], actor=actor)
    return _("Marked failed; it can be carried out again.")


def _deduction_executing(measure) -> bool:
    executing = measure.status == MeasureStatus.EXECUTING
    return executing and measure.kind == MeasureKind.DEPOSIT_DEDUCTION


def _run_corrected(measure, form, actor):
    services.measure_mark_corrected(measure=measure, actor=actor, note=form.cleaned_data["note"])
    return _("Marked corrected; the notice is lifted.")


def _awaiting_approval(measure) -> bool:
    return measure.status == MeasureStatus.PROPOSED and measure.severe


def _notice_in_effect(measure) -> bool:
    return measure.kind == MeasureKind.NOTICE_TO_CORRECT and measure.status in IN_EFFECT


_FOUR_EYES = ("enforcement.approve_measure",)
MEASURE_ACTIONS = (
    ObjectAction(
        "approve",
        _("Approve"),
        _("Approve and carry out"),
        NoteForm,
        _run_approve,
        _FOUR_EYES,
        _awaiting_approval,
    ),
    ObjectAction(
        "reject",
        _("Reject"),
        _("Reject"),
        NoteForm,
        _run_reject,
        _FOUR_EYES,
        _awaiting_approval,
    ),
    ObjectAction(
        "retry",
        _("Carry out again"),
        _("Carry out again"),
        EmptyForm,
        _run_retry,
        # Whoever may carry out a measure: a lead, or the reviewer whose light measures run at
        # once (services.measure_execute checks the same).
        ("enforcement.execute_measure", "enforcement.add_measure"),
        lambda measure: measure.status == MeasureStatus.FAILED,
    ),
    ObjectAction(
        "fail",
        _("Mark failed"),
        _("Mark failed"),
        ReasonForm,
        _run_fail,
        # A lead stops a deduction the worker cannot finish (the relay does so on its own after
        # ENFORCEMENT_DEDUCTION_GIVE_UP_MINUTES); "Carry out again" then retries it.
        ("enforcement.execute_measure",),
        _deduction_executing,
    ),
    ObjectAction(
        "corrected",
        _("Mark corrected"),
        _("Mark corrected"),
        CorrectedForm,
        _run_corrected,
        ("enforcement.change_measure",),
        _notice_in_effect,
    ),
)


# --- The measure page -------------------------------------------------------------------------


class MeasureEventInline(EventInline):
    model = MeasureEvent


class ReferralInline(ReadOnlyInline):
    model = Referral
    fields = ["authority", "purpose", "status", "attempts", "delivered_at", "acknowledged_at"]
    readonly_fields = fields
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("authority")


@admin.register(Measure)
class MeasureAdmin(LargeTableAdminMixin, ObjectActionsMixin, admin.ModelAdmin):
    list_display = [
        "number",
        "party",
        "kind",
        "status",
        "severe",
        "proposed_at",
        "proposed_by",
        "ends_at",
    ]
    list_display_links = ["number"]
    list_filter = [MeasureQueueFilter, "kind", "status", "severe", PartyFilter]
    list_select_related = ["party", "proposed_by"]
    search_fields = ["^party__name", "=party__platform_ref"]
    show_full_result_count = False
    list_per_page = 50
    inlines = [MeasureEventInline, LedgerEntryInline, ReferralInline]
    object_actions = MEASURE_ACTIONS
    fieldsets = [
        (
            None,
            {"fields": ["violation_link", "party_link", "kind", "status", "severe", "puid"]},
        ),
        (
            _("What the party is told"),
            {"fields": ["reason", "departs_from_default", "departure_reason"]},
        ),
        (
            _("Terms"),
            {
                "fields": [
                    "term_days",
                    "starts_at",
                    "ends_at",
                    "correct_by",
                    "corrected_at",
                    "escalated_at",
                    "lifted_at",
                ]
            },
        ),
        (
            _("What it covers"),
            {"fields": ["amount", "product_list", "content_refs", "authority_list"]},
        ),
        (
            _("Decision"),
            {
                "fields": [
                    "automated_detection",
                    "proposed_at",
                    "proposed_by",
                    "decided_at",
                    "decided_by",
                    "decision_note",
                ]
            },
        ),
        (
            _("Execution and its effects"),
            {
                "fields": [
                    "executed_at",
                    "failure_reason",
                    "statement_sent_at",
                    "restriction_list",
                    "appeal_link",
                ]
            },
        ),
    ]
    readonly_fields = [name for _title, options in fieldsets for name in options["fields"]]

    # Measures are proposed from their violation's page and change only through the actions.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("violation__type", "party", "proposed_by", "decided_by")
        )

    def get_ordering(self, request):
        if request.GET.get("queue") in MEASURE_QUEUES:
            return MEASURE_QUEUES[request.GET["queue"]][2]
        return ["-proposed_at", "-id"]

    @admin.display(description=_("measure"), ordering="id")
    def number(self, obj):
        return f"M{obj.pk}"

    @admin.display(description=_("violation"))
    def violation_link(self, obj):
        return admin_link(obj.violation)

    @admin.display(description=_("party"))
    def party_link(self, obj):
        return admin_link(obj.party)

    @admin.display(description=_("amount"))
    def amount(self, obj):
        return yuan(obj.amount_fen)

    @admin.display(description=_("products"))
    def product_list(self, obj):
        return "; ".join(f"{p.platform_ref} {p.title}" for p in obj.products.all()) or "—"

    @admin.display(description=_("authorities"))
    def authority_list(self, obj):
        return "; ".join(a.name for a in obj.authorities.all()) or "—"

    @admin.display(description=_("restrictions it caused"))
    def restriction_list(self, obj):
        restrictions = Restriction.objects.filter(
            source_type=ContentType.objects.get_for_model(Measure), source_id=obj.pk
        ).order_by("starts_at", "id")
        return (
            format_html_join(
                "; ",
                '<a href="{}">{}</a> {} – {} {}',
                (
                    (
                        reverse("admin:accounts_restriction_change", args=[r.pk]),
                        r.get_kind_display(),
                        date_format(r.starts_at, "SHORT_DATETIME_FORMAT"),
                        date_format(r.ends_at, "SHORT_DATETIME_FORMAT") if r.ends_at else "∞",
                        format_html("({})", _("lifted")) if r.lifted_at else "",
                    )
                    for r in restrictions
                ),
            )
            or "—"
        )

    @admin.display(description=_("appeal"))
    def appeal_link(self, obj):
        appeal = Appeal.objects.filter(measure=obj).first()
        if appeal is None:
            return "—"
        return admin_link(appeal, appeal.get_status_display())

    # --- exports for the regulators

    def get_urls(self):
        return [
            path(
                "export/",
                self.admin_site.admin_view(self.export_view),
                name="enforcement_measure_export",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        links = []
        if request.user.has_perm("enforcement.export_sanctions"):
            links.append(
                {"url": reverse("admin:enforcement_measure_export"), "title": _("Export sanctions")}
            )
        extra_context = {**(extra_context or {}), "changelist_links": links}
        return super().changelist_view(request, extra_context)

    def export_view(self, request):
        """Sanctions of a period as CSV for a regulator's level (LCM Art. 12), or the statements
        of reasons as DSA Transparency Database JSON lines; streamed, however long the period."""
        if not request.user.has_perm("enforcement.export_sanctions"):
            raise PermissionDenied
        form = ExportForm(request.GET or None)
        if form.is_valid():
            return export_response(**form.cleaned_data)
        self.report_form_errors(request, form)
        context = {
            "title": _("Export sanctions"),
            "action": {
                "title": "",
                "button": _("Download"),
                "form": form,
                "url": request.path,
                "method": "get",
            },
            "back_url": reverse("admin:enforcement_measure_changelist"),
        }
        return self.form_page(request, "admin/enforcement/action.html", form, context)


class ExportForm(forms.Form):
    start = forms.DateField(label=pgettext_lazy("period", "from"), widget=AdminDateWidget)
    end = forms.DateField(label=_("to (inclusive)"), widget=AdminDateWidget)
    level = forms.ChoiceField(
        label=_("for"),
        choices=[
            (AuthorityLevel.COUNTY, _("the county-level regulator: every sanction")),
            (
                AuthorityLevel.PROVINCIAL,
                _("the provincial regulator: closures, re-registration bans, blacklistings"),
            ),
        ],
    )
    output = forms.ChoiceField(
        label=_("format"),
        choices=[
            ("csv", _("CSV for the regulator")),
            ("jsonl", _("Statements of reasons, DSA Transparency Database (JSON lines)")),
        ],
        help_text=_("The JSON lines hold every statement of the period, whatever the level."),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("start") and cleaned.get("end") and cleaned["start"] > cleaned["end"]:
            raise forms.ValidationError(_("The period ends before it starts."))
        return cleaned


def export_response(*, start, end, level, output) -> StreamingHttpResponse:
    if output == "csv":
        response = StreamingHttpResponse(
            exports.sanctions_csv(start, end, level), content_type="text/csv; charset=utf-8"
        )
        name = f"sanctions-{level}-{start:%Y%m%d}-{end:%Y%m%d}.csv"
    else:
        response = StreamingHttpResponse(
            exports.transparency_jsonl(start, end),
            content_type="application/x-ndjson; charset=utf-8",
        )
        name = f"statements-of-reasons-{start:%Y%m%d}-{end:%Y%m%d}.jsonl"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response


for _queue in (
    Queue(
        key="measures_awaiting_approval",
        title=_("Severe measures awaiting approval"),
        permission="enforcement.approve_measure",
        url_name="admin:enforcement_measure_changelist",
        query="queue=approvals",
        count=lambda request: Measure.objects.filter(**MEASURE_QUEUES["approvals"][1]).count(),
        order=41,
    ),
    Queue(
        key="notices_overdue",
        title=_("Notices to correct, overdue"),
        permission="enforcement.change_measure",
        url_name="admin:enforcement_measure_changelist",
        query="queue=overdue_notices",
        count=lambda request: Measure.objects.filter(**OVERDUE_NOTICES).count(),
        order=42,
    ),
):
    admin.site.register_queue(_queue)
