"""Violations in the admin: the triage queue, the violation page (facts, where it came from, the
evidence with its digests, the timeline) with its actions, a reviewer's own finding, and the
page that proposes a measure beside the party's history and the catalogue's defaults."""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminDateWidget, AdminSplitDateTime, AutocompleteSelect
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache

from accounts.actors import Actor
from accounts.admin_forms import add_service_errors
from accounts.admin_paging import LargeTableAdminMixin
from accounts.admin_site import Queue
from accounts.models import Party, PartyKind
from config.errors import Conflict
from enforcement import services
from enforcement.admin.common import (
    CaseCodeField,
    EventInline,
    ObjectAction,
    ObjectActionsMixin,
    ReadOnlyInline,
    ReasonForm,
    YuanField,
    admin_link,
    fen,
    refusal_message,
    yuan,
)
from enforcement.models import (
    REFERRAL_MEASURES,
    TERM_MEASURES,
    Authority,
    CatalogueStatus,
    Evidence,
    MeasureKind,
    MeasureStatus,
    Violation,
    ViolationEvent,
    ViolationSource,
    ViolationStatus,
    ViolationType,
)
from enforcement.services.ledger import max_deduction_fen
from liverooms.models import Alert, Inspection, LiveSession
from merchants.models import Product

TAKEDOWN_MEASURES = {MeasureKind.REMOVE_CONTENT, MeasureKind.RESTRICT_LISTING}


def published_types():
    return ViolationType.objects.filter(status=CatalogueStatus.PUBLISHED).order_by("code")


def _lines(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[\n,，]+", text) if part.strip()]


# --- Forms ----------------------------------------------------------------------------------------


class ConfirmForm(forms.Form):
    # One published version per type: a short list, whatever the catalogue's history.
    type = forms.ModelChoiceField(label=_("violation type"), queryset=ViolationType.objects.none())
    note = forms.CharField(
        label=_("note (recorded)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "class": "vLargeTextField"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type"].queryset = published_types()


class EvidenceFileForm(forms.Form):
    file = forms.FileField(
        label=_("file"),
        help_text=_("A PNG, JPEG or WebP image, a PDF, an MP4 video or a text file."),
    )
    description = forms.CharField(label=_("what it shows"), max_length=300, required=False)


class EvidenceLinkForm(forms.Form):
    case = CaseCodeField(label=_("complaint (tracking code)"), max_length=16, required=False)
    alert = forms.ModelChoiceField(
        label=_("monitoring alert"),
        queryset=Alert.objects.all(),
        required=False,
        widget=AutocompleteSelect(Evidence._meta.get_field("alert"), admin.site),
    )
    inspection = forms.ModelChoiceField(
        label=_("inspection of the session"),
        queryset=Inspection.objects.none(),
        required=False,
    )
    reference = forms.CharField(
        label=_("platform record reference"), max_length=200, required=False
    )
    description = forms.CharField(
        label=_("what it shows"),
        max_length=300,
        required=False,
        help_text=_("Needed for a platform record; optional for the others."),
    )

    def __init__(self, data=None, files=None, *, obj: Violation, **kwargs):
        super().__init__(data, files, **kwargs)
        # Inspections have no list of their own to search: those of the violation's session
        # are offered (a handful), and without a session there is none to choose.
        if obj.session_id is None:
            del self.fields["inspection"]
        else:
            self.fields["inspection"].queryset = Inspection.objects.filter(
                session_id=obj.session_id
            ).select_related("session__room")


class RaiseForm(forms.Form):
    # Found by searching the registry, never from a list of every party.
    party = forms.ModelChoiceField(
        label=_("party"),
        queryset=Party.objects.all(),
        widget=AutocompleteSelect(Violation._meta.get_field("party"), admin.site),
    )
    facts = forms.CharField(
        label=_("facts"), widget=forms.Textarea(attrs={"rows": 5, "class": "vLargeTextField"})
    )
    occurred_at = forms.SplitDateTimeField(
        label=_("occurred at"), required=False, widget=AdminSplitDateTime
    )
    session = forms.ModelChoiceField(
        label=_("live session"),
        queryset=LiveSession.objects.all(),
        required=False,
        widget=AutocompleteSelect(Violation._meta.get_field("session"), admin.site),
    )
    type = forms.ModelChoiceField(
        label=_("violation type (if already known)"),
        queryset=ViolationType.objects.none(),
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type"].queryset = published_types()


class ProductRefsField(forms.CharField):
    """The party's products by their platform references, one a line: bounded by the party
    however large its catalogue, and found through the (merchant, platform_ref) unique index."""

    widget = forms.Textarea(attrs={"rows": 2})

    def __init__(self, *, merchant, **kwargs):
        self.merchant = merchant
        super().__init__(**kwargs)

    def clean(self, value):
        refs = list(dict.fromkeys(_lines(super().clean(value))))
        found = {
            product.platform_ref: product
            for product in Product.objects.filter(merchant=self.merchant, platform_ref__in=refs)
        }
        if missing := [ref for ref in refs if ref not in found]:
            raise ValidationError(
                _("Not among the party's products: %(refs)s") % {"refs": ", ".join(missing)}
            )
        return [found[ref] for ref in refs]


# The products beside the content to take down (the field exists for merchants only).
FIELD_ORDER = ["kind", "reason", "term_days", "correct_by", "amount_yuan", "products"]


class ProposeForm(forms.Form):
    """Every field at once, as the page has no script: `proposal()` passes the service only those
    the chosen measure takes, and the service checks the rest."""

    kind = forms.ChoiceField(label=_("measure"))
    reason = forms.CharField(
        label=_("statement of facts and reasons"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "class": "vLargeTextField"}),
        help_text=_("Sent to the party as written."),
    )
    term_days = forms.IntegerField(
        label=_("term (days)"),
        required=False,
        min_value=1,
        help_text=_("For a term measure; empty means indefinitely where the measure allows it."),
    )
    correct_by = forms.DateField(
        label=_("correct by"),
        required=False,
        widget=AdminDateWidget,
        help_text=_("For a notice to correct."),
    )
    amount_yuan = YuanField(
        label=_("deduction (yuan)"), required=False, help_text=_("For a deposit deduction.")
    )
    content_refs = forms.CharField(
        label=_("content to remove (platform ids, one a line)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    # Active authorities only: a few dozen at most.
    authorities = forms.ModelMultipleChoiceField(
        label=_("authorities (for a referral)"),
        queryset=Authority.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    departure_reason = forms.CharField(
        label=_("reason for departing from the catalogue"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "class": "vLargeTextField"}),
        help_text=_("Needed when the proposal departs from the type's defaults."),
    )
    automated_detection = forms.BooleanField(label=_("detected automatically"), required=False)

    def __init__(self, data=None, files=None, *, obj: Violation, **kwargs):
        super().__init__(data, files, **kwargs)
        self.violation = obj
        vtype = obj.type
        # In the ladder's order, the catalogue's default first selected.
        self.fields["kind"].choices = [
            (value, label)
            for value, label in MeasureKind.choices
            if value in vtype.allowed_measures
        ]
        if vtype.default_measures:
            self.fields["kind"].initial = vtype.default_measures[0]
        self.fields["term_days"].initial = vtype.default_term_days
        if vtype.default_deduction_fen:
            self.fields["amount_yuan"].initial = Decimal(vtype.default_deduction_fen) / 100
        self.fields["automated_detection"].initial = obj.source == ViolationSource.ALERT
        self.fields["authorities"].queryset = Authority.objects.filter(is_active=True)
        if obj.party.kind == PartyKind.MERCHANT:
            self.fields["products"] = ProductRefsField(
                merchant=obj.party,
                label=_("products to take down (platform references, one a line)"),
                required=False,
                help_text=_session_products(obj),
            )
        self.order_fields(FIELD_ORDER)

    def proposal(self) -> services.Proposal:
        data, kind = self.cleaned_data, self.cleaned_data["kind"]
        takedown = kind in TAKEDOWN_MEASURES
        return services.Proposal(
            kind=kind,
            reason=data["reason"],
            term_days=data["term_days"] if kind in TERM_MEASURES else None,
            correct_by=data["correct_by"] if kind == MeasureKind.NOTICE_TO_CORRECT else None,
            amount_fen=fen(data["amount_yuan"]) if kind == MeasureKind.DEPOSIT_DEDUCTION else None,
            products=data.get("products", []) if takedown else [],
            content_refs=_lines(data["content_refs"]) if takedown else [],
            authorities=list(data["authorities"]) if kind in REFERRAL_MEASURES else [],
            departure_reason=data["departure_reason"],
            automated_detection=data["automated_detection"],
        )


def _session_products(violation: Violation) -> str:
    """The products shown in the violation's session, to copy from (one session: a short list)."""
    if violation.session_id is None:
        return ""
    shown = Product.objects.filter(
        pk__in=violation.session.products.filter(merchant=violation.party).values("product_id")
    ).values_list("platform_ref", "title")
    if not shown:
        return ""
    return _("Shown in the session: %(products)s") % {
        "products": "; ".join(f"{ref} ({title})" for ref, title in shown)
    }


# --- Actions ----------------------------------------------------------------------------------


def _run_confirm(violation, form, actor):
    services.violation_confirm(
        violation=violation,
        vtype=form.cleaned_data["type"],
        note=form.cleaned_data["note"].strip(),
        actor=actor,
    )
    return _("Confirmed; measures may now be proposed.")


def _run_dismiss(violation, form, actor):
    services.violation_dismiss(violation=violation, reason=form.cleaned_data["reason"], actor=actor)
    return _("Dismissed, with the reason recorded.")


def _run_add_file(violation, form, actor):
    evidence = services.evidence_add_file(
        violation=violation,
        upload=form.cleaned_data["file"],
        description=form.cleaned_data["description"],
        actor=actor,
    )
    return _("Evidence stored; SHA-256 %(digest)s.") % {"digest": evidence.sha256}


def _run_link(violation, form, actor):
    data = form.cleaned_data
    services.evidence_link(
        violation=violation,
        actor=actor,
        case=data["case"],
        alert=data["alert"],
        inspection=data.get("inspection"),
        reference=data["reference"],
        description=data["description"].strip(),
    )
    return _("Evidence linked.")


def _run_propose(violation, form, actor):
    measure = services.measure_propose(violation=violation, proposal=form.proposal(), actor=actor)
    if measure.status == MeasureStatus.PROPOSED:
        text = _("Proposed; a compliance lead other than you approves it.")
    else:
        text = _("No second approval is needed: the measure is %(status)s.") % {
            "status": measure.get_status_display()
        }
    return text, reverse("admin:enforcement_measure_change", args=[measure.pk])


def _propose_context(violation: Violation) -> dict:
    """Beside the form: what the party has done before, and what the catalogue proposes."""
    vtype = violation.type
    record = services.history(violation.party)
    labels = dict(MeasureKind.choices)
    ceilings = [x for x in (vtype.max_deduction_fen, max_deduction_fen()) if x is not None]
    return {
        "vtype": vtype,
        "party": violation.party,
        "confirmed_violations": record["violations"],
        "past_measures": [
            (labels.get(kind, kind), n) for kind, n in sorted(record["measures"].items())
        ],
        "party_measures_url": reverse("admin:enforcement_measure_changelist")
        + f"?party={violation.party_id}",
        "default_measures": ", ".join(str(labels[k]) for k in vtype.default_measures) or "—",
        "default_term_days": vtype.default_term_days,
        "default_deduction": yuan(vtype.default_deduction_fen),
        "max_deduction": yuan(min(ceilings)),
    }


def _suspected(violation) -> bool:
    return violation.status == ViolationStatus.SUSPECTED


def _confirmed(violation) -> bool:
    return violation.status == ViolationStatus.CONFIRMED


_TRIAGE = ("enforcement.change_violation",)
VIOLATION_ACTIONS = (
    ObjectAction(
        "confirm",
        _("Confirm, choosing the type"),
        _("Confirm"),
        ConfirmForm,
        _run_confirm,
        _TRIAGE,
        _suspected,
        bulk=True,
    ),
    ObjectAction(
        "dismiss",
        _("Dismiss, with the reason"),
        _("Dismiss"),
        ReasonForm,
        _run_dismiss,
        _TRIAGE,
        _suspected,
        bulk=True,
    ),
    ObjectAction(
        "add_file",
        _("Upload an evidence file"),
        _("Upload"),
        EvidenceFileForm,
        _run_add_file,
        ("enforcement.add_evidence",),
        multipart=True,
    ),
    ObjectAction(
        "link",
        _("Link a complaint, alert, inspection or platform record"),
        _("Link"),
        EvidenceLinkForm,
        _run_link,
        ("enforcement.add_evidence",),
        takes_object=True,
    ),
    ObjectAction(
        "propose",
        _("Propose a measure"),
        _("Propose"),
        ProposeForm,
        _run_propose,
        ("enforcement.add_measure",),
        _confirmed,
        renames={"amount_fen": "amount_yuan"},
        takes_object=True,
        inline=False,
        template="admin/enforcement/propose.html",
        context=_propose_context,
    ),
)


# --- The violation page -----------------------------------------------------------------------


class EvidenceInline(ReadOnlyInline):
    model = Evidence
    fields = ["kind", "description", "record", "sha256", "size", "added_at", "added_by"]
    readonly_fields = fields
    ordering = ["added_at", "id"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("case", "alert", "inspection")

    @admin.display(description=_("file or record"))
    def record(self, obj):
        if obj.file:
            url = reverse("admin:enforcement_violation_evidence", args=[obj.pk])
            return format_html('<a href="{}">{}</a>', url, obj.file_name or _("download"))
        if obj.case_id:
            return admin_link(obj.case)
        if obj.alert_id:
            return admin_link(obj.alert, _("Alert %(n)s") % {"n": obj.alert_id})
        if obj.inspection_id:
            return _inspection_display(obj.inspection)
        return obj.reference or "—"


class ViolationEventInline(EventInline):
    model = ViolationEvent


class TriageFilter(admin.SimpleListFilter):
    title = _("queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [("triage", _("To triage (oldest first)"))]

    def queryset(self, request, queryset):
        if self.value() == "triage":
            return queryset.filter(status=ViolationStatus.SUSPECTED)
        return queryset


def _inspection_display(inspection):
    return format_html(
        '{} <a href="{}">{}</a>',
        _("Inspection %(n)s:") % {"n": inspection.pk},
        reverse("admin:liverooms_livesession_change", args=[inspection.session_id]),
        inspection.get_result_display(),
    )


@admin.register(Violation)
class ViolationAdmin(LargeTableAdminMixin, ObjectActionsMixin, admin.ModelAdmin):
    list_display = ["__str__", "party", "status", "source", "type", "created_at"]
    list_filter = [TriageFilter, "status", "source", "type__severity"]
    list_select_related = ["party", "type"]
    # Prefixes and whole codes, each served by an index (no substring over every violation).
    search_fields = [
        "^party__name",
        "=party__platform_ref",
        "=case__tracking_code",
        "=type__code",
    ]
    show_full_result_count = False
    list_per_page = 50
    inlines = [EvidenceInline, ViolationEventInline]
    object_actions = VIOLATION_ACTIONS
    fields = [
        "party_link",
        "status",
        "type",
        "source",
        "facts",
        "occurred_at",
        "case_link",
        "session_link",
        "inspection_link",
        "created_at",
        "created_by",
        "confirmed_at",
        "confirmed_by",
        "dismissed_reason",
        "measure_list",
    ]
    readonly_fields = fields

    # Violations are raised by complaints, inspections and the "new violation" page; every
    # change is an action; nothing is deleted.
    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("party", "type", "case", "session__room", "inspection", "confirmed_by")
        )

    def get_ordering(self, request):
        if request.GET.get("queue") == "triage":
            return ["created_at", "id"]  # first come, first triaged
        return ["-created_at", "-id"]

    @admin.display(description=_("party"))
    def party_link(self, obj):
        return admin_link(obj.party)

    @admin.display(description=_("complaint"))
    def case_link(self, obj):
        return admin_link(obj.case)

    @admin.display(description=_("live session"))
    def session_link(self, obj):
        return admin_link(obj.session)

    @admin.display(description=_("inspection"))
    def inspection_link(self, obj):
        return _inspection_display(obj.inspection) if obj.inspection_id else "—"

    @admin.display(description=_("measures"))
    def measure_list(self, obj):
        measures = obj.measures.order_by("proposed_at", "id")
        return (
            format_html_join(
                mark_safe("<br>"),
                '<a href="{}">{}</a> · {}',
                (
                    (
                        reverse("admin:enforcement_measure_change", args=[m.pk]),
                        m.get_kind_display(),
                        m.get_status_display(),
                    )
                    for m in measures
                ),
            )
            or "—"
        )

    # --- a reviewer's own finding, and evidence files

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "evidence/<int:pk>/",
                wrap(never_cache(self.evidence_view)),
                name="enforcement_violation_evidence",
            ),
            *super().get_urls(),
        ]

    def add_view(self, request, form_url="", extra_context=None):
        """A reviewer's own finding: a suspected violation, triaged like any other."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = RaiseForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                violation = services.violation_raise(
                    party=data["party"],
                    source=ViolationSource.REVIEWER,
                    facts=data["facts"],
                    vtype=data["type"],
                    occurred_at=data["occurred_at"],
                    session=data["session"],
                    actor=Actor.for_user(request.user),
                )
            except ValidationError as exc:
                add_service_errors(form, exc, {})
            except (Conflict, PermissionDenied) as exc:
                self.message_user(request, refusal_message(exc), messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("Recorded as suspected; confirm it to take measures."),
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(self.change_url(violation))
        self.report_form_errors(request, form)
        context = {
            "title": _("Record a violation (your own finding)"),
            "action": {"title": "", "button": _("Record"), "form": form, "url": request.path},
            "back_url": reverse("admin:enforcement_violation_changelist"),
        }
        return self.form_page(request, "admin/enforcement/action.html", form, context)

    def evidence_view(self, request, pk):
        """Evidence files are never served from a public URL: only here, as a download, to
        those who may see them."""
        if not request.user.has_perm("enforcement.view_evidence"):
            raise PermissionDenied
        evidence = get_object_or_404(Evidence.objects.exclude(file=""), pk=pk)
        try:
            handle = default_storage.open(evidence.file, "rb")
        except FileNotFoundError:
            raise Http404 from None
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=f"evidence-{evidence.pk}-{evidence.file.rsplit('/', 1)[-1]}",
            content_type=evidence.content_type or "application/octet-stream",
        )
        response["Cache-Control"] = "private, no-store"
        return response


admin.site.register_queue(
    Queue(
        key="violations_suspected",
        title=_("Suspected violations to triage"),
        permission="enforcement.view_violation",
        url_name="admin:enforcement_violation_changelist",
        query="queue=triage",
        # violation_triage_idx: the partial index on suspected rows.
        count=lambda request: Violation.objects.filter(status=ViolationStatus.SUSPECTED).count(),
        order=40,
    )
)
