"""The reviewers' workbench for complaints, reports and evaluations (RULES.md §4).

Queues on the index (new, mine, due today, overdue, waiting for the consumer, flagged reporters);
a change list by due date; a case page that shows the facts, the evidence and the whole timeline
read-only, with one small form per action. Every form calls `complaints.services`, which checks
the status and the permission again: nothing here edits a case field by hand, and a refusal from
a service is shown as an error with nothing changed.

Evaluations are never edited or deleted here, not even by a superuser (ECL Art. 39): a reviewer
may only hide one, with the reason recorded.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce, Least
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache

from accounts.actors import Actor
from accounts.admin_site import Queue
from accounts.models import Party, PartyKind
from complaints import services
from complaints.models import (
    OPEN_STATUSES,
    PAUSED_STATUSES,
    Case,
    CaseEvent,
    CaseStatus,
    Evaluation,
    Evidence,
    Outcome,
    ReplyTemplate,
    ReporterReputation,
    ReviewerCapacity,
)
from config.errors import Conflict
from liverooms.models import LiveSession

HANDLE = "complaints.change_case"
# A complaint (C) or report (R) and nine characters (complaints.services._CODE_ALPHABET).
_TRACKING_CODE = re.compile(r"[CR][2-9A-Z]{9}")


def handlers():
    """Active users who may handle cases: the people a case can be assigned to."""
    perm = Permission.objects.filter(content_type__app_label="complaints", codename="change_case")
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(
            Q(is_superuser=True) | Q(groups__permissions__in=perm) | Q(user_permissions__in=perm)
        )
        .distinct()
        .order_by("username")
    )


def _yuan(fen: int | None) -> str:
    return "—" if fen is None else f"¥{Decimal(fen) / 100:,.2f}"


def _add_errors(form: forms.Form, exc: ValidationError, renames: dict[str, str]) -> None:
    """Put a service's ValidationError on the form fields it names (the rest on the form)."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            target = renames.get(name, name)
            for text in errors:
                form.add_error(target if target in form.fields else None, text)
    else:
        for text in exc.messages:
            form.add_error(None, text)


# --- Queues -------------------------------------------------------------------------------------

# Each queue is a function of the request giving its cases; the list filter and the index count
# use the same one. Every one is served by an index: (status, acceptance_due) for new, due and
# overdue (resolution_due is then checked on the few ACCEPTED rows), (assignee, status) for mine.
CASE_QUEUES: dict[str, tuple[str, Callable]] = {
    "overdue": (_("Overdue (escalated first)"), lambda request: services.overdue_cases()),
    "due_today": (_("Due today"), lambda request: services.due_today_cases()),
    "new": (_("New"), lambda request: Case.objects.filter(status=CaseStatus.NEW)),
    "mine": (
        _("Mine, open"),
        lambda request: Case.objects.filter(assignee=request.user, status__in=OPEN_STATUSES),
    ),
    "awaiting_consumer": (
        _("Waiting for the consumer"),
        lambda request: Case.objects.filter(status=CaseStatus.AWAITING_CONSUMER),
    ),
}

# Escalated cases are the lead's: they come first, oldest escalation on top.
_ESCALATED_FIRST = F("escalated_at").asc(nulls_last=True)
QUEUE_ORDERING = {
    "overdue": [_ESCALATED_FIRST, "acceptance_due", "resolution_due", "received_at"],
    "due_today": [_ESCALATED_FIRST, "received_at"],
    # First come, first served.
    "new": ["received_at"],
    "mine": ["acceptance_due", "resolution_due", "received_at"],
    "awaiting_consumer": ["paused_at"],
}


class QueueFilter(admin.SimpleListFilter):
    title = _("queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [(key, title) for key, (title, _cases) in CASE_QUEUES.items()]

    def queryset(self, request, queryset):
        if self.value() in CASE_QUEUES:
            _title, cases = CASE_QUEUES[self.value()]
            return queryset.filter(pk__in=cases(request).values("pk"))
        return queryset


class EscalatedFilter(admin.SimpleListFilter):
    title = _("escalated")
    parameter_name = "escalated"

    def lookups(self, request, model_admin):
        return [("yes", _("Escalated to a lead")), ("no", _("Not escalated"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(escalated_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(escalated_at__isnull=True)
        return queryset


class ReporterFilter(admin.SimpleListFilter):
    """The cases of one reporter (from the reputation list); shown only while it is in use, as
    the key is a hash nobody would pick from a list."""

    title = _("reporter")
    parameter_name = "reporter"

    def lookups(self, request, model_admin):
        return [(self.value(), _("This reporter"))] if self.value() else []

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(contact_key=self.value())
        return queryset


# --- Case page: read-only inlines ---------------------------------------------------------------


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class EvidenceInline(ReadOnlyInline):
    model = Evidence
    fields = ["preview", "size", "added_by", "added_at"]
    readonly_fields = fields

    @admin.display(description=_("image"))
    def preview(self, obj):
        url = reverse("admin:complaints_case_evidence", args=[obj.pk])
        return format_html(
            '<a href="{}" target="_blank" rel="noopener"><img src="{}" alt="{}" '
            'style="max-width:160px;max-height:120px"></a>',
            url,
            url,
            _("Evidence image %(n)s") % {"n": obj.pk},
        )

    @admin.display(description=_("size"))
    def size(self, obj):
        return f"{obj.width} × {obj.height}"


class CaseEventInline(ReadOnlyInline):
    """The whole timeline, internal notes included; `public` says what the consumer sees."""

    model = CaseEvent
    fields = ["at", "kind", "status", "public", "actor_label", "message", "reason", "data"]
    readonly_fields = fields
    ordering = ["at", "id"]
    verbose_name_plural = _("timeline")


# --- Case actions -------------------------------------------------------------------------------


class MessageForm(forms.Form):
    message = forms.CharField(
        label=_("message to the consumer"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "vLargeTextField"}),
    )


class RequiredMessageForm(forms.Form):
    message = forms.CharField(
        label=_("what the consumer should add"),
        widget=forms.Textarea(attrs={"rows": 3, "class": "vLargeTextField"}),
    )


class WithdrawalForm(forms.Form):
    # Not required here: the service says why an empty reason is refused, in one place.
    reason = forms.CharField(
        label=_("how and when the consumer withdrew"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "class": "vLargeTextField"}),
    )


class NotAcceptForm(forms.Form):
    # Not required here: the service says why an empty reason is refused, in one place.
    reason = forms.CharField(
        label=_("reason, told to the consumer"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "vLargeTextField"}),
    )


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("internal note (never shown to the consumer)"),
        widget=forms.Textarea(attrs={"rows": 3, "class": "vLargeTextField"}),
    )


class EmptyForm(forms.Form):
    pass


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        label=_("reviewer"),
        queryset=get_user_model().objects.none(),
        required=False,
        empty_label=_("— nobody (back to the new queue) —"),
    )

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        load = services.open_load()
        field = self.fields["assignee"]
        field.queryset = handlers()
        field.initial = case.assignee_id
        # The load beside each name is what a lead balances by.
        field.label_from_instance = lambda user: (
            _("%(name)s (%(n)d open)")
            % {
                "name": user.get_username(),
                "n": load.get(user.pk, 0),
            }
        )


class ReplyForm(forms.Form):
    template = forms.ModelChoiceField(
        label=_("standard reply"),
        queryset=ReplyTemplate.objects.none(),
        required=False,
        help_text=_(
            "Insert its text to edit it first, or send it as it is (in the consumer's language)."
        ),
    )
    text = forms.CharField(
        label=_("reply to the consumer"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "class": "vLargeTextField"}),
    )

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        self.case = case
        self.fields["template"].queryset = ReplyTemplate.objects.filter(is_active=True).filter(
            Q(kind="") | Q(kind=case.kind)
        )
        language = dict(settings.LANGUAGES).get(case.language, case.language)
        self.fields["text"].help_text = _("The consumer reads %(language)s.") % {
            "language": language
        }

    def reply_text(self) -> str:
        text = self.cleaned_data["text"].strip()
        template = self.cleaned_data["template"]
        if not text and template is not None:
            return template.body_for(self.case.language)
        return text


class LinkForm(forms.Form):
    # Found by searching the registry (the admin's autocomplete), never by typing an id.
    merchant = forms.ModelChoiceField(
        label=_("merchant"),
        queryset=Party.objects.filter(kind=PartyKind.MERCHANT),
        required=False,
        widget=AutocompleteSelect(Case._meta.get_field("merchant"), admin.site),
    )
    anchor = forms.ModelChoiceField(
        label=_("anchor"),
        queryset=Party.objects.filter(kind=PartyKind.ANCHOR),
        required=False,
        widget=AutocompleteSelect(Case._meta.get_field("anchor"), admin.site),
    )
    session = forms.ModelChoiceField(
        label=_("live session"),
        queryset=LiveSession.objects.select_related("room"),
        required=False,
        widget=AutocompleteSelect(Case._meta.get_field("session"), admin.site),
    )

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        if not any(cleaned.get(name) for name in ("merchant", "anchor", "session")):
            raise forms.ValidationError(_("Choose a merchant, an anchor or a live session."))
        return cleaned


class MergeForm(forms.Form):
    into = forms.CharField(label=_("merge this case into (tracking code)"), max_length=16)

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        suggested = case.possible_duplicate_of
        if suggested is not None and suggested.status != CaseStatus.MERGED:
            self.fields["into"].initial = suggested.tracking_code
            self.fields["into"].help_text = _(
                "Suggested: %(code)s, found at filing as a possible duplicate."
            ) % {"code": suggested.tracking_code}

    def clean_into(self):
        code = self.cleaned_data["into"].strip().upper()
        into = Case.objects.filter(tracking_code=code).first()
        if into is None:
            raise forms.ValidationError(_("No case has this tracking code."))
        return into


class DecideForm(forms.Form):
    outcome = forms.ChoiceField(label=_("outcome"), choices=[("", "—"), *Outcome.choices])
    note = forms.CharField(
        label=_("explanation to the consumer"),
        widget=forms.Textarea(attrs={"rows": 4, "class": "vLargeTextField"}),
    )
    # Reviewers think in yuan; the service and the API keep integer fen.
    refund_yuan = forms.DecimalField(
        label=_("refund (yuan)"), required=False, min_value=Decimal("0.01"), decimal_places=2
    )
    compensation_yuan = forms.DecimalField(
        label=_("compensation (yuan)"), required=False, min_value=Decimal("0.01"), decimal_places=2
    )

    @staticmethod
    def fen(value: Decimal | None) -> int | None:
        return None if value is None else int(value * 100)


@dataclass(frozen=True)
class CaseAction:
    slug: str
    title: str
    button: str
    form: type[forms.Form]
    # Calls the service; returns the message shown on success.
    run: Callable[[Case, forms.Form, Actor], str]
    # When the page offers it; the service has the last word on the status either way.
    statuses: tuple[str, ...]
    # Service field name -> form field name, for errors the service raises.
    renames: dict[str, str] = field(default_factory=dict)
    extra_buttons: tuple[tuple[str, str], ...] = ()
    takes_case: bool = False


def _run_accept(case, form, actor):
    services.case_accept(case=case, actor=actor, message=form.cleaned_data["message"].strip())
    return _("Accepted; the resolution clock is running.")


def _run_not_accept(case, form, actor):
    services.case_not_accept(case=case, reason=form.cleaned_data["reason"], actor=actor)
    return _("Not accepted; the consumer is told why.")


def _run_record_withdrawal(case, form, actor):
    services.case_record_withdrawal(case=case, reason=form.cleaned_data["reason"], actor=actor)
    return _("Withdrawal recorded; the consumer is told.")


def _run_request_info(case, form, actor):
    services.case_request_info(case=case, message=form.cleaned_data["message"], actor=actor)
    return _("Information requested; the clocks are paused until the consumer answers.")


def _run_appraisal(case, form, actor):
    services.case_start_appraisal(case=case, message=form.cleaned_data["message"], actor=actor)
    return _("Appraisal started; the clocks are paused.")


def _run_resume(case, form, actor):
    case = services.case_resume(
        case=case, actor=actor, message=form.cleaned_data["message"].strip()
    )
    return _("Handling resumed; resolution now due %(due)s.") % {
        "due": date_format(case.resolution_due)
    }


def _run_reply(case, form, actor):
    services.case_reply(case=case, text=form.reply_text(), actor=actor)
    return _("Reply sent to the consumer.")


def _run_note(case, form, actor):
    services.case_note(case=case, text=form.cleaned_data["text"], actor=actor)
    return _("Note added.")


def _run_assign(case, form, actor):
    assignee = form.cleaned_data["assignee"]
    services.case_assign(case=case, assignee=assignee, actor=actor)
    if assignee is None:
        return _("Unassigned; the case is back in the new queue.")
    return _("Assigned to %(name)s.") % {"name": assignee.get_username()}


def _run_round_robin(case, form, actor):
    # The round robin is also the filing step, so it neither checks the actor nor the status:
    # the admin does both (the actor in the view).
    if case.status not in OPEN_STATUSES:
        raise Conflict(
            _("This case is %(status)s; that is not possible now.")
            % {"status": case.get_status_display()}
        )
    chosen = services.case_assign_round_robin(case=case, actor=actor)
    if chosen is None:
        raise Conflict(_("No available reviewer has room for another case."))
    return _("Assigned to %(name)s by round robin.") % {"name": chosen.get_username()}


def _run_link(case, form, actor):
    data = form.cleaned_data
    services.case_link(
        case=case,
        actor=actor,
        merchant=data["merchant"],
        anchor=data["anchor"],
        session=data["session"],
    )
    return _("Linked.")


def _run_merge(case, form, actor):
    into = form.cleaned_data["into"]
    services.case_merge(duplicate=case, into=into, actor=actor)
    return _("Merged into %(code)s; its consumer is told which case to follow.") % {
        "code": into.tracking_code
    }


def _run_decide(case, form, actor):
    data = form.cleaned_data
    services.case_decide(
        case=case,
        outcome=data["outcome"],
        note=data["note"],
        actor=actor,
        refund_fen=form.fen(data["refund_yuan"]),
        compensation_fen=form.fen(data["compensation_yuan"]),
    )
    return _("Decided; the consumer is told.")


_OPEN_OR_DECIDED = (*OPEN_STATUSES, CaseStatus.DECIDED)
CASE_ACTIONS: dict[str, CaseAction] = {
    action.slug: action
    for action in (
        CaseAction(
            "accept",
            _("Accept"),
            _("Accept the case"),
            MessageForm,
            _run_accept,
            (CaseStatus.NEW,),
        ),
        CaseAction(
            "record_withdrawal",
            _("Record a withdrawal"),
            _("Record the withdrawal"),
            WithdrawalForm,
            _run_record_withdrawal,
            OPEN_STATUSES,
        ),
        CaseAction(
            "not_accept",
            _("Do not accept"),
            _("Do not accept"),
            NotAcceptForm,
            _run_not_accept,
            (CaseStatus.NEW,),
        ),
        CaseAction(
            "decide",
            _("Decide"),
            _("Record the decision"),
            DecideForm,
            _run_decide,
            (CaseStatus.ACCEPTED,),
            renames={"refund_fen": "refund_yuan", "compensation_fen": "compensation_yuan"},
        ),
        CaseAction(
            "request_info",
            _("Ask the consumer for information (pauses the clocks)"),
            _("Send the request"),
            RequiredMessageForm,
            _run_request_info,
            (CaseStatus.NEW, CaseStatus.ACCEPTED),
        ),
        CaseAction(
            "appraisal",
            _("Start an appraisal (pauses the clocks)"),
            _("Start the appraisal"),
            MessageForm,
            _run_appraisal,
            (CaseStatus.ACCEPTED,),
        ),
        CaseAction(
            "resume",
            _("Resume handling (the due dates move on by the days paused)"),
            _("Resume"),
            MessageForm,
            _run_resume,
            PAUSED_STATUSES,
        ),
        CaseAction(
            "reply",
            _("Reply to the consumer"),
            _("Send the reply"),
            ReplyForm,
            _run_reply,
            _OPEN_OR_DECIDED,
            extra_buttons=(("_load", _("Insert the standard reply's text")),),
            takes_case=True,
        ),
        CaseAction(
            "note",
            _("Internal note"),
            _("Add the note"),
            NoteForm,
            _run_note,
            tuple(CaseStatus.values),
        ),
        CaseAction(
            "assign",
            _("Assign"),
            _("Assign"),
            AssignForm,
            _run_assign,
            OPEN_STATUSES,
            takes_case=True,
        ),
        CaseAction(
            "round_robin",
            _("Assign by round robin"),
            _("Give it to the least-loaded reviewer"),
            EmptyForm,
            _run_round_robin,
            OPEN_STATUSES,
        ),
        CaseAction(
            "link",
            _("Link to a merchant, anchor or live session"),
            _("Link"),
            LinkForm,
            _run_link,
            _OPEN_OR_DECIDED,
            takes_case=True,
        ),
        CaseAction(
            "merge",
            _("Merge into another case"),
            _("Merge"),
            MergeForm,
            _run_merge,
            OPEN_STATUSES,
            takes_case=True,
        ),
    )
}
# The action a reviewer most likely wants next is shown unfolded.
_FIRST_ACTIONS = {"accept", "decide", "resume"}


def _action_form(action: CaseAction, case: Case, data=None) -> forms.Form:
    kwargs = {"auto_id": f"id_{action.slug}_%s"}
    if action.takes_case:
        kwargs["case"] = case
    return action.form(data, **kwargs)


# --- Case admin ---------------------------------------------------------------------------------


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = [
        "tracking_code",
        "kind",
        "status",
        "parties",
        "acceptance_due_display",
        "resolution_due_display",
        "assignee",
        "duplicate_marker",
        "received_at",
    ]
    list_filter = [
        QueueFilter,
        "kind",
        "status",
        "category",
        "report_category",
        "outcome",
        ("assignee", admin.RelatedOnlyFieldListFilter),
        EscalatedFilter,
        "deadline_estimated",
        ReporterFilter,
    ]
    list_select_related = ["merchant", "anchor", "assignee", "possible_duplicate_of"]
    # Order numbers are matched whole, names by substring; tracking codes in get_search_results.
    search_fields = ["=order_number", "merchant__name", "anchor__name"]
    show_full_result_count = False
    list_per_page = 50
    actions = ["take", "assign_round_robin"]
    inlines = [EvidenceInline, CaseEventInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "tracking_code",
                    "kind",
                    "status",
                    "assignee",
                    "source",
                    "platform_ref",
                    "received_at",
                    "language",
                    "escalated_at",
                ]
            },
        ),
        (
            _("Who and what it is about"),
            {
                "fields": [
                    "merchant",
                    "anchor",
                    "session",
                    "party_complaints",
                    "possible_duplicate_of",
                    "merged_into",
                ]
            },
        ),
        (
            _("What happened"),
            {
                "fields": [
                    "order_number",
                    "purchase",
                    "category",
                    "request",
                    "request_detail",
                    "report_category",
                    "stream_offset",
                    "facts",
                ]
            },
        ),
        (_("Contact"), {"fields": ["contact_name", "contact"]}),
        (
            _("Clocks (working days)"),
            {
                "fields": [
                    "acceptance_due",
                    "resolution_due",
                    "mediation_due",
                    "deadline_estimated",
                    "paused_at",
                    "accepted_at",
                    "decided_at",
                    "closed_at",
                ]
            },
        ),
        (
            _("Outcome"),
            {
                "fields": [
                    "outcome",
                    "outcome_note",
                    "refund",
                    "compensation",
                    "consumer_confirmed_at",
                    "handling_rating",
                    "handling_comment",
                ]
            },
        ),
    ]
    readonly_fields = [name for _title, options in fieldsets for name in options["fields"]]

    # Cases come from the public forms and the API; every change is an action below.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_handle_permission(self, request):
        return request.user.has_perm(HANDLE)

    def get_ordering(self, request):
        return QUEUE_ORDERING.get(request.GET.get("queue"), ["-received_at", "-id"])

    def get_search_results(self, request, queryset, search_term):
        filtered = queryset
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        # Codes are stored in capitals: an exact match on the unique index, however it was typed
        # (iexact would wrap the column in UPPER() and scan).
        code = search_term.strip().upper()
        if _TRACKING_CODE.fullmatch(code):
            queryset |= filtered.filter(tracking_code=code)
        return queryset, may_have_duplicates

    # --- columns and read-only fields

    @admin.display(description=_("merchant / anchor"))
    def parties(self, obj):
        names = [p.name for p in (obj.merchant, obj.anchor) if p is not None]
        return " / ".join(names) or "—"

    def _due(self, obj, day, clock):
        if day is None:
            return "—"
        text = date_format(day)
        if obj.deadline_estimated:
            # Counted past the published holiday calendar: to be checked once it is out.
            text = f"≈ {text}"
        if services.overdue_clock(obj) == clock:
            return format_html(
                '<strong class="case-overdue" style="color:var(--error-fg,#ba2121)">'
                "{} ({})</strong>",
                text,
                _("overdue"),
            )
        if obj.status in PAUSED_STATUSES:
            return format_html(
                '<span style="color:var(--body-quiet-color)">{} ({})</span>', text, _("paused")
            )
        return text

    @admin.display(description=_("acceptance due"), ordering="acceptance_due")
    def acceptance_due_display(self, obj):
        return self._due(obj, obj.acceptance_due, "acceptance")

    @admin.display(description=_("resolution due"), ordering="resolution_due")
    def resolution_due_display(self, obj):
        return self._due(obj, obj.resolution_due, "resolution")

    @admin.display(description=_("possible duplicate"))
    def duplicate_marker(self, obj):
        duplicate = obj.possible_duplicate_of
        if duplicate is None or obj.status == CaseStatus.MERGED:
            return ""
        url = reverse("admin:complaints_case_change", args=[duplicate.pk])
        return format_html(
            '<a href="{}" title="{}">⚑ {}</a>', url, _("possible duplicate of"), duplicate
        )

    @admin.display(description=_("contact (masked)"))
    def contact(self, obj):
        return services.contact_masked(obj) or "—"

    @admin.display(description=_("refund"))
    def refund(self, obj):
        return _yuan(obj.refund_fen)

    @admin.display(description=_("compensation"))
    def compensation(self, obj):
        return _yuan(obj.compensation_fen)

    @admin.display(description=_("complaints against these parties (30 days)"))
    def party_complaints(self, obj):
        parties = [p for p in (obj.merchant, obj.anchor) if p is not None]
        if not parties:
            return "—"
        ids = [p.pk for p in parties]
        # The risk grade counts distinct complainants, not filings (complaints.risk).
        filings, people = services.complaint_counts(ids), services.complainant_counts(ids)
        return "; ".join(
            _("%(name)s: %(n)d from %(people)d complainants")
            % {"name": p.name, "n": filings.get(p.pk, 0), "people": people.get(p.pk, 0)}
            for p in parties
        )

    # --- bulk actions on the change list

    @admin.action(description=_("Take the selected cases (assign to me)"), permissions=["handle"])
    def take(self, request, queryset):
        actor, done, skipped = Actor.for_user(request.user), 0, 0
        for case in queryset:
            try:
                services.case_assign(case=case, assignee=request.user, actor=actor)
                done += 1
            except (Conflict, ValidationError, PermissionError):
                skipped += 1
        self.message_user(
            request,
            _("%(done)d taken, %(skipped)d skipped (closed or not yours to take).")
            % {"done": done, "skipped": skipped},
            messages.SUCCESS if done else messages.WARNING,
        )

    @admin.action(description=_("Assign the selected cases by round robin"), permissions=["handle"])
    def assign_round_robin(self, request, queryset):
        actor, done, skipped = Actor.for_user(request.user), 0, 0
        for case in queryset.filter(status__in=OPEN_STATUSES):
            try:
                _run_round_robin(case, None, actor)
                done += 1
            except Conflict:
                skipped += 1
        self.message_user(
            request,
            _("%(done)d assigned, %(skipped)d left unassigned (no reviewer with room).")
            % {"done": done, "skipped": skipped},
            messages.SUCCESS if done else messages.WARNING,
        )

    # --- the case page and its actions

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:pk>/act/<slug:slug>/",
                wrap(self.action_view),
                name="complaints_case_action",
            ),
            path(
                "evidence/<int:pk>/",
                wrap(never_cache(self.evidence_view)),
                name="complaints_case_evidence",
            ),
            *super().get_urls(),
        ]

    def offered_actions(self, request, case: Case) -> list[dict]:
        if not request.user.has_perm(HANDLE):
            return []  # auditors read the page; the forms are not for them
        return [
            {
                "slug": action.slug,
                "title": action.title,
                "button": action.button,
                "extra_buttons": action.extra_buttons,
                "form": _action_form(action, case),
                "url": reverse("admin:complaints_case_action", args=[case.pk, action.slug]),
                "open": action.slug in _FIRST_ACTIONS,
            }
            for action in CASE_ACTIONS.values()
            if case.status in action.statuses
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        case = self.get_object(request, unquote(object_id))
        if case is not None:
            extra_context = {
                **(extra_context or {}),
                "case_actions": self.offered_actions(request, case),
                # Later filings that found this case as their possible duplicate.
                "duplicates_of_this": Case.objects.filter(possible_duplicate_of=case).exclude(
                    status=CaseStatus.MERGED
                ),
                "overdue_clock": services.overdue_clock(case),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def render_change_form(self, request, context, *args, **kwargs):
        # The link form's autocomplete widgets bring their scripts.
        for action in context.get("case_actions", []):
            context["media"] = context["media"] + action["form"].media
        return super().render_change_form(request, context, *args, **kwargs)

    def action_view(self, request, pk, slug):
        action = CASE_ACTIONS.get(slug)
        if action is None:
            raise Http404
        if not request.user.has_perm(HANDLE):
            raise PermissionDenied
        case = get_object_or_404(Case.objects.select_related("possible_duplicate_of"), pk=pk)
        change_url = reverse("admin:complaints_case_change", args=[case.pk])
        form = _action_form(action, case, request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            if slug == "reply" and "_load" in request.POST:
                form = self._reply_with_template(form, case)
            else:
                try:
                    done = action.run(case, form, Actor.for_user(request.user))
                except ValidationError as exc:
                    _add_errors(form, exc, action.renames)
                except (Conflict, PermissionError) as exc:
                    # Someone else moved the case on, or the role does not allow it: nothing
                    # in the form to correct, so back to the case with the reason.
                    message = exc.message if isinstance(exc, Conflict) else str(exc)
                    self.message_user(request, str(message), messages.ERROR)
                    return HttpResponseRedirect(change_url)
                else:
                    self.message_user(request, str(done), messages.SUCCESS)
                    return HttpResponseRedirect(change_url)
        if form.is_bound and form.errors:
            # Refused by the form or by the service: the page shows the form again as typed.
            texts = [str(text) for errors in form.errors.values() for text in errors]
            self.message_user(
                request,
                _("Nothing was changed: %(errors)s") % {"errors": " ".join(texts)},
                messages.ERROR,
            )
        context = {
            **self.admin_site.each_context(request),
            "title": _("%(action)s: %(case)s") % {"action": action.title, "case": case},
            "case": case,
            "action": {
                "slug": action.slug,
                "title": action.title,
                "button": action.button,
                "extra_buttons": action.extra_buttons,
                "form": form,
                "url": request.path,
                "open": True,
            },
            "media": self.media + form.media,
            "opts": self.model._meta,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/complaints/case/action.html", context)

    def _reply_with_template(self, form: ReplyForm, case: Case) -> ReplyForm:
        """Put the standard reply's text, in the consumer's language, in the box to edit."""
        template = form.cleaned_data["template"]
        data = form.data.copy()
        if template is not None:
            data["text"] = template.body_for(case.language)
        return _action_form(CASE_ACTIONS["reply"], case, data)

    def evidence_view(self, request, pk):
        """Evidence is never served from a public URL: only here, to those who may see it."""
        if not request.user.has_perm("complaints.view_evidence"):
            raise PermissionDenied
        evidence = get_object_or_404(Evidence, pk=pk)
        try:
            handle = default_storage.open(evidence.file, "rb")
        except FileNotFoundError:
            raise Http404 from None
        response = FileResponse(handle, content_type=evidence.content_type)
        response["Content-Disposition"] = f'inline; filename="evidence-{evidence.pk}"'
        response["Cache-Control"] = "private, no-store"
        return response


def _case_queue(key: str, title, permission: str, order: int) -> Queue:
    _label, cases = CASE_QUEUES[key]
    return Queue(
        key=f"cases_{key}",
        title=title,
        permission=permission,
        url_name="admin:complaints_case_changelist",
        query=f"queue={key}",
        count=lambda request: cases(request).count(),
        order=order,
    )


for _queue in (
    _case_queue(
        "overdue", _("Complaints and reports overdue (escalated first)"), "complaints.view_case", 30
    ),
    _case_queue("due_today", _("Complaints and reports due today"), "complaints.view_case", 31),
    _case_queue("new", _("New complaints and reports"), "complaints.view_case", 32),
    # Only people who handle cases have cases of their own.
    _case_queue("mine", _("My open complaints and reports"), HANDLE, 33),
    _case_queue(
        "awaiting_consumer", _("Cases waiting for the consumer"), "complaints.view_case", 34
    ),
):
    admin.site.register_queue(_queue)


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


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("reason (recorded)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "vLargeTextField"}),
    )


def _reason_page(model_admin, request, *, objects, form, title, intro, button, action=""):
    """The page that asks for a reason before hiding or clearing: for one object (posts to
    itself) or for a selection on the change list (posts the action back)."""
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "intro": intro,
        "button": button,
        "objects": objects,
        "form": form,
        "action_name": action,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
        "opts": model_admin.model._meta,
    }
    return TemplateResponse(request, "admin/complaints/reason_form.html", context)


def _stars(value: int | None) -> str:
    return "—" if value is None else "★" * value + "☆" * (5 - value)


@admin.register(Evaluation)
class EvaluationAdmin(admin.ModelAdmin):
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
    ]
    list_filter = [HiddenFilter, PartyKindFilter, LowestStarsFilter, "source"]
    list_select_related = ["merchant", "anchor"]
    search_fields = ["=order_number", "merchant__name", "anchor__name"]
    show_full_result_count = False
    list_per_page = 50
    actions = ["hide_selected"]
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
                _add_errors(form, exc, {})
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
        return _reason_page(
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
                _add_errors(form, exc, {})
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
            except Conflict as exc:
                self.message_user(request, str(exc.message), messages.ERROR)
                return HttpResponseRedirect(change_url)
            else:
                self.message_user(request, _("Evaluation hidden."), messages.SUCCESS)
                return HttpResponseRedirect(change_url)
        return _reason_page(
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


# --- Team: reply templates, capacities, reporter reputation ------------------------------------


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "is_active"]
    list_filter = ["is_active", "kind"]
    search_fields = ["name", "body_zh", "body_en"]
    fields = ["name", "kind", "body_zh", "body_en", "is_active"]

    def has_delete_permission(self, request, obj=None):
        # Past replies quote them; a template that is no longer wanted is made inactive.
        return False


@admin.register(ReviewerCapacity)
class ReviewerCapacityAdmin(admin.ModelAdmin):
    list_display = ["user", "max_open_cases", "is_available", "last_assigned_at"]
    list_select_related = ["user"]
    list_editable = ["max_open_cases", "is_available"]
    fields = ["user", "max_open_cases", "is_available", "last_assigned_at"]

    def get_list_display(self, request):
        # One grouped query for the page, not one per row.
        load = services.open_load()

        @admin.display(description=_("open cases now"))
        def open_cases(obj):
            return load.get(obj.user_id, 0)

        @admin.display(description=_("room left"))
        def room_left(obj):
            return max(obj.max_open_cases - load.get(obj.user_id, 0), 0)

        return ["user", "max_open_cases", "is_available", open_cases, room_left, "last_assigned_at"]

    def get_readonly_fields(self, request, obj=None):
        return ["user", "last_assigned_at"] if obj else ["last_assigned_at"]

    def has_delete_permission(self, request, obj=None):
        return False  # "not taking new cases" keeps the round robin's history

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = handlers()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class FlaggedFilter(admin.SimpleListFilter):
    title = _("flag")
    parameter_name = "flagged"

    def lookups(self, request, model_admin):
        return [("yes", _("Flagged, to review")), ("no", _("Not flagged"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(flagged_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(flagged_at__isnull=True)
        return queryset


@admin.register(ReporterReputation)
class ReporterReputationAdmin(admin.ModelAdmin):
    list_display = [
        "reporter",
        "filed",
        "unfounded",
        "unfounded_share",
        "flagged_at",
        "reviewed_at",
        "reviewed_note",
        "cases",
    ]
    list_filter = [FlaggedFilter]
    search_fields = ["=contact_key"]
    show_full_result_count = False
    actions = ["mark_reviewed"]
    fields = [
        "reporter",
        "filed",
        "unfounded",
        "flagged_at",
        "reviewed_at",
        "reviewed_note",
        "cases",
    ]
    readonly_fields = fields
    # Flagged first on every database (PostgreSQL sorts NULL first when descending).
    ordering = [F("flagged_at").desc(nulls_last=True), "-unfounded", "-id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # counts change only with cases; the flag through "mark reviewed"

    def has_delete_permission(self, request, obj=None):
        return False

    def has_review_permission(self, request):
        return request.user.has_perm("complaints.change_reporterreputation")

    @admin.display(description=_("reporter"))
    def reporter(self, obj):
        # A keyed hash of the contact: enough to tell reporters apart, nothing to identify them.
        return f"{obj.contact_key[:10]}…"

    @admin.display(description=_("unfounded share"))
    def unfounded_share(self, obj):
        return f"{100 * obj.unfounded / obj.filed:.0f}%" if obj.filed else "—"

    @admin.display(description=_("cases"))
    def cases(self, obj):
        url = (
            reverse("admin:complaints_case_changelist")
            + "?"
            + urlencode({"reporter": obj.contact_key})
        )
        return format_html('<a href="{}">{}</a>', url, _("Their cases"))

    @admin.action(
        description=_("Mark the selected reporters reviewed, with a note"), permissions=["review"]
    )
    def mark_reviewed(self, request, queryset):
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        form.fields["reason"].label = _("what you concluded")
        if form.is_bound and form.is_valid():
            actor, done = Actor.for_user(request.user), 0
            try:
                for reputation in queryset:
                    services.reputation_review(
                        reputation=reputation, note=form.cleaned_data["reason"], actor=actor
                    )
                    done += 1
            except ValidationError as exc:
                _add_errors(form, exc, {"note": "reason"})
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
            else:
                self.message_user(
                    request,
                    ngettext("%d reporter reviewed.", "%d reporters reviewed.", done) % done,
                    messages.SUCCESS,
                )
                return None
        return _reason_page(
            self,
            request,
            objects=list(queryset),
            form=form,
            title=_("Mark reporters reviewed"),
            intro=_("The flag is cleared and your note kept; the counts stay as they are."),
            button=_("Mark reviewed"),
            action="mark_reviewed",
        )


admin.site.register_queue(
    Queue(
        key="reporters_flagged",
        title=_("Reporters flagged for unfounded reports (LCM Art. 20)"),
        permission="complaints.change_reporterreputation",
        url_name="admin:complaints_reporterreputation_changelist",
        query="flagged=yes",
        count=lambda request: ReporterReputation.objects.filter(flagged_at__isnull=False).count(),
        order=35,
    )
)
