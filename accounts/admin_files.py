"""The reviewers' workbench for registration files.

Queues first; search by name, credit code, masked ID or a full ID number (looked up through the
keyed hash, never stored or compared in clear); the timeline and documents inline; one decision
page that calls the workflow services. Nobody edits a status by hand.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache

from accounts import registration, reports
from accounts.actors import Actor
from accounts.admin_paging import LargeTableAdminMixin
from accounts.admin_site import Queue
from accounts.identity import identity_hash, normalise_identifier
from accounts.models import (
    ChangeReason,
    FileDocument,
    FileEvent,
    FileStatus,
    FileVersion,
    RegistrationFile,
)
from accounts.models.files import AWAITING_REVIEW, DECIDABLE
from config.errors import Conflict


class QueueFilter(admin.SimpleListFilter):
    title = _("queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [
            ("awaiting", _("Awaiting review")),
            ("mine", _("Mine, in review")),
            ("reverification", _("Re-verification due")),
            ("change_overdue", _("Change review overdue")),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "awaiting":
            return queryset.filter(status__in=AWAITING_REVIEW)
        if value == "mine":
            return queryset.filter(status=FileStatus.IN_REVIEW, assigned_to=request.user)
        if value == "reverification":
            return queryset.filter(
                party__reverification_due_at__lte=timezone.now(), sealed_version__isnull=False
            )
        if value == "change_overdue":
            return queryset.filter(change_review_due__lt=timezone.localdate(), status__in=DECIDABLE)
        return queryset


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class FileEventInline(ReadOnlyInline):
    model = FileEvent
    fields = ["at", "kind", "from_status", "to_status", "version", "actor_label", "reason", "data"]
    readonly_fields = fields
    ordering = ["at", "id"]
    verbose_name_plural = _("timeline")


class FileDocumentInline(ReadOnlyInline):
    model = FileDocument
    fields = [
        "preview",
        "kind",
        "version",
        "review",
        "change_reason",
        "change_note",
        "sha256",
        "uploaded_at",
    ]
    readonly_fields = fields
    ordering = ["-id"]

    @admin.display(description=_("preview"))
    def preview(self, obj):
        url = reverse("admin:accounts_registrationfile_document", args=[obj.pk])
        return format_html(
            '<a href="{}" target="_blank" rel="noopener"><img src="{}" alt="{}" '
            'style="max-width:160px;max-height:120px"></a>',
            url,
            url,
            obj.get_kind_display(),
        )


class FileVersionInline(ReadOnlyInline):
    model = FileVersion
    fields = ["version", "sha256", "sealed_at", "sealed_by"]
    readonly_fields = fields
    verbose_name_plural = _("sealed versions")


class DecisionForm(forms.Form):
    DECISIONS = [
        ("approve", _("Approve and seal this version")),
        ("request_changes", _("Request changes")),
        ("reject", _("Reject")),
    ]
    decision = forms.ChoiceField(label=_("decision"), choices=DECISIONS, widget=forms.RadioSelect)
    reject_reasons = forms.MultipleChoiceField(
        label=_("reasons for rejection"),
        required=False,
        choices=list(registration.RejectReason.CHOICES.items()),
        widget=forms.CheckboxSelectMultiple,
    )
    text = forms.CharField(
        label=_("explanation to the party"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    missing = forms.ChoiceField(
        label=_("something missing altogether"),
        required=False,
        choices=[("", "—"), *ChangeReason.choices],
    )

    def __init__(self, *args, documents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.documents = list(documents)
        for document in self.documents:
            self.fields[f"doc_{document.pk}_reason"] = forms.ChoiceField(
                label=f"{document.get_kind_display()} #{document.pk}",
                required=False,
                choices=[("", _("fine")), *ChangeReason.choices],
            )
            self.fields[f"doc_{document.pk}_note"] = forms.CharField(
                label=_("note"), required=False, max_length=500
            )

    def change_items(self) -> list[registration.ChangeItem]:
        items = [
            registration.ChangeItem(
                reason=self.cleaned_data[f"doc_{d.pk}_reason"],
                note=self.cleaned_data[f"doc_{d.pk}_note"],
                document_id=d.pk,
            )
            for d in self.documents
            if self.cleaned_data.get(f"doc_{d.pk}_reason")
        ]
        if self.cleaned_data.get("missing"):
            items.append(
                registration.ChangeItem(
                    reason=self.cleaned_data["missing"], note=self.cleaned_data["text"]
                )
            )
        return items


class RevealForm(forms.Form):
    reason = forms.CharField(label=_("why you need the full number"), max_length=300)


@admin.register(RegistrationFile)
class RegistrationFileAdmin(LargeTableAdminMixin, admin.ModelAdmin):
    list_display = [
        "party_number",
        "name",
        "kind",
        "status",
        "version",
        "submitted_at",
        "assigned_to",
        "change_review_due",
        "reverification_due",
    ]
    list_filter = [QueueFilter, "status", "kind"]
    list_select_related = ["party", "assigned_to"]
    # Prefixes and whole codes (indexable); a full ID number in get_search_results.
    search_fields = ["^name", "=credit_code", "=id_number_masked", "=party__platform_ref"]
    show_full_result_count = False
    list_per_page = 50
    ordering = ["-id"]
    readonly_fields = [
        "party",
        "kind",
        "status",
        "version",
        "name",
        "credit_code",
        "id_number_masked",
        "contact_phone",
        "contact_email",
        "address",
        "submitted_at",
        "decided_at",
        "assigned_to",
        "sealed_version",
        "change_review_due",
        "reverification_notified_at",
        "last_check_results",
        "decide_link",
        "reveal_link",
    ]
    exclude = ["id_number_encrypted", "change_review_due_estimated"]
    inlines = [FileDocumentInline, FileVersionInline, FileEventInline]
    actions = ["take_for_review"]
    # Kind-specific inlines, registered by the apps that own those parts.
    kind_inlines: dict[str, list] = {}

    @classmethod
    def register_kind_inline(cls, kind: str, inline) -> None:
        cls.kind_inlines.setdefault(kind, []).append(inline)

    def get_inlines(self, request, obj):
        kind_specific = self.kind_inlines.get(obj.kind, []) if obj else []
        return [*kind_specific, *self.inlines]

    def has_add_permission(self, request):
        return False  # files come from the platform through the API

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # decisions go through the decision page

    @admin.display(description=_("party no."), ordering="party_id")
    def party_number(self, obj):
        return obj.party_id

    def get_ordering(self, request):
        # Review queues are first come, first served: the oldest submission on top.
        if request.GET.get("queue") in ("awaiting", "change_overdue"):
            return ["submitted_at", "id"]
        return super().get_ordering(request)

    @admin.display(description=_("re-verification due"), ordering="party__reverification_due_at")
    def reverification_due(self, obj):
        return obj.party.reverification_due_at

    @admin.display(description=_("decision"))
    def decide_link(self, obj):
        if obj.status not in DECIDABLE:
            return "—"
        url = reverse("admin:accounts_registrationfile_decide", args=[obj.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("Decide"))

    @admin.display(description=_("full ID number"))
    def reveal_link(self, obj):
        if not obj.id_number_encrypted:
            return "—"
        url = reverse("admin:accounts_registrationfile_reveal", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Reveal (recorded)"))

    def get_search_results(self, request, queryset, search_term):
        filtered = queryset
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = normalise_identifier(search_term)
        # A full 18-character ID number or credit code is matched through the keyed hash, within
        # whatever queue or filter the reviewer has chosen.
        if len(term) == 18 and "*" not in term:
            queryset |= filtered.filter(party__identity_hash=identity_hash(term))
        return queryset, may_have_duplicates

    @admin.action(description=_("Take the selected files for review"))
    def take_for_review(self, request, queryset):
        if not request.user.has_perm("accounts.review_registrationfile"):
            raise PermissionDenied
        actor, taken, skipped = Actor.for_user(request.user), 0, 0
        for file in queryset.filter(status__in=AWAITING_REVIEW):
            try:
                registration.file_take(file=file, actor=actor)
                taken += 1
            except Conflict:
                skipped += 1
        self.message_user(
            request,
            _("%(taken)d taken for review, %(skipped)d already taken by someone else.")
            % {"taken": taken, "skipped": skipped},
            messages.SUCCESS,
        )

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:pk>/decide/", wrap(self.decide_view), name="accounts_registrationfile_decide"
            ),
            path(
                "<int:pk>/reveal/", wrap(self.reveal_view), name="accounts_registrationfile_reveal"
            ),
            path(
                "document/<int:pk>/",
                wrap(never_cache(self.document_view)),
                name="accounts_registrationfile_document",
            ),
            path(
                "identity-report/",
                wrap(never_cache(self.identity_report_view)),
                name="accounts_registrationfile_identity_report",
            ),
            *super().get_urls(),
        ]

    def decide_view(self, request, pk):
        if not request.user.has_perm("accounts.review_registrationfile"):
            raise PermissionDenied
        file = get_object_or_404(RegistrationFile.objects.select_related("party"), pk=pk)
        change_url = reverse("admin:accounts_registrationfile_change", args=[pk])
        documents = registration.current_documents(file)
        form = DecisionForm(request.POST or None, documents=documents)
        if request.method == "POST" and form.is_valid():
            actor = Actor.for_user(request.user)
            decision = form.cleaned_data["decision"]
            try:
                if decision == "approve":
                    registration.file_approve(
                        file=file, actor=actor, note=form.cleaned_data["text"]
                    )
                elif decision == "reject":
                    registration.file_reject(
                        file=file,
                        reasons=form.cleaned_data["reject_reasons"],
                        text=form.cleaned_data["text"],
                        actor=actor,
                    )
                else:
                    registration.file_request_changes(
                        file=file, items=form.change_items(), actor=actor
                    )
            except registration.EntryChecksFailed as exc:
                for failure in exc.failures:
                    form.add_error(None, f"{failure.code}: {failure.message}")
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error(None, message)
            except Conflict as exc:
                self.message_user(request, str(exc.message), messages.ERROR)
                return HttpResponseRedirect(change_url)
            else:
                self.message_user(request, _("Decision recorded."), messages.SUCCESS)
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Decide on %(file)s") % {"file": file},
            "file": file,
            "form": form,
            "documents": documents,
            "opts": self.model._meta,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/accounts/registrationfile/decide.html", context)

    def reveal_view(self, request, pk):
        if not request.user.has_perm("accounts.reveal_identity"):
            raise PermissionDenied
        file = get_object_or_404(RegistrationFile, pk=pk)
        form = RevealForm(request.POST or None)
        revealed = None
        if request.method == "POST" and form.is_valid():
            revealed = registration.identity_reveal(
                file=file, reason=form.cleaned_data["reason"], actor=Actor.for_user(request.user)
            )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reveal the ID number of %(file)s") % {"file": file},
            "file": file,
            "form": form,
            "revealed": revealed,
            "opts": self.model._meta,
        }
        response = TemplateResponse(request, "admin/accounts/registrationfile/reveal.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_export": request.user.has_perm("accounts.export_identity_report"),
            "last_period": reports.Period.last_completed(),
        }
        return super().changelist_view(request, extra_context)

    def identity_report_view(self, request):
        """LCM Art. 9: the January/July report, as CSV or XLSX, logged for the auditors."""
        if not request.user.has_perm("accounts.export_identity_report"):
            raise PermissionDenied
        try:
            period = reports.Period.parse(request.GET.get("period", ""))
        except ValueError:
            period = reports.Period.last_completed()
        kind = request.GET.get("format", "xlsx")
        if kind not in ("csv", "xlsx"):
            raise Http404
        content = reports.as_xlsx(period) if kind == "xlsx" else reports.as_csv(period)
        LogEntry.objects.create(
            user=request.user,
            content_type=ContentType.objects.get_for_model(RegistrationFile),
            object_repr=f"identity report {period.start}..{period.end} ({kind})",
            action_flag=CHANGE,
            change_message=f"Exported the identity report for {period.start} to {period.end}.",
        )
        content_type = {
            "csv": "text/csv; charset=utf-8",
            "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }[kind]
        response = HttpResponse(content, content_type=content_type)
        name = f"identity-report-{period.start:%Y}-{'H1' if period.start.month == 1 else 'H2'}"
        response["Content-Disposition"] = f'attachment; filename="{name}.{kind}"'
        response["Cache-Control"] = "private, no-store"
        return response

    def document_view(self, request, pk):
        """Documents are never served from a public URL: only here, to those who may see them."""
        if not request.user.has_perm("accounts.view_filedocument"):
            raise PermissionDenied
        document = get_object_or_404(FileDocument, pk=pk)
        try:
            handle = default_storage.open(document.storage_name, "rb")
        except FileNotFoundError:
            raise Http404 from None
        response = FileResponse(handle, content_type=document.content_type)
        response["Content-Disposition"] = f'inline; filename="document-{document.pk}"'
        response["Cache-Control"] = "private, no-store"
        return response


def _count(**filters):
    return lambda request: RegistrationFile.objects.filter(**filters).count()


admin.site.register_queue(
    Queue(
        key="files_awaiting",
        title=_("Registration files awaiting review"),
        permission="accounts.review_registrationfile",
        url_name="admin:accounts_registrationfile_changelist",
        query="queue=awaiting",
        count=_count(status__in=AWAITING_REVIEW),
        order=10,
    )
)
admin.site.register_queue(
    Queue(
        key="files_mine",
        title=_("My files in review"),
        permission="accounts.review_registrationfile",
        url_name="admin:accounts_registrationfile_changelist",
        query="queue=mine",
        count=lambda request: RegistrationFile.objects.filter(
            status=FileStatus.IN_REVIEW, assigned_to=request.user
        ).count(),
        order=11,
    )
)
admin.site.register_queue(
    Queue(
        key="files_change_overdue",
        title=_("Change reviews overdue (LCM Art. 15)"),
        permission="accounts.view_registrationfile",
        url_name="admin:accounts_registrationfile_changelist",
        query="queue=change_overdue",
        count=lambda request: RegistrationFile.objects.filter(
            Q(change_review_due__lt=timezone.localdate()), status__in=DECIDABLE
        ).count(),
        order=12,
    )
)
admin.site.register_queue(
    Queue(
        key="files_reverification",
        title=_("Re-verification due (LCM Art. 8)"),
        permission="accounts.view_registrationfile",
        url_name="admin:accounts_registrationfile_changelist",
        query="queue=reverification",
        count=lambda request: RegistrationFile.objects.filter(
            party__reverification_due_at__lte=timezone.now(), sealed_version__isnull=False
        ).count(),
        order=13,
    )
)
