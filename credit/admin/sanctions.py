"""The external sanctions list: read-only, filled by a lead's CSV import of a regulator's list
(AdL Art. 38 ¶3; LCM Art. 11)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from accounts.actors import Actor
from accounts.admin_paging import LargeTableAdminMixin
from credit.models import SanctionEntry
from credit.services import CSV_COLUMNS, sanctions_import_csv

MAX_CSV_BYTES = 20 * 1024 * 1024


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8, with the columns: %s") % ", ".join(CSV_COLUMNS),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_CSV_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB."))
        return upload


@admin.register(SanctionEntry)
class SanctionEntryAdmin(LargeTableAdminMixin, admin.ModelAdmin):
    list_display = [
        "name",
        "kind",
        "identifier_masked",
        "authority",
        "reference",
        "decided_on",
        "ends_on",
    ]
    list_filter = ["kind", "decided_on"]
    search_fields = ["name", "reference", "authority"]
    date_hierarchy = "decided_on"
    show_full_result_count = False
    readonly_fields = [
        "kind",
        "name",
        "identifier_masked",
        "authority",
        "reference",
        "decided_on",
        "ends_on",
        "imported_at",
        "imported_by",
    ]
    change_list_template = "admin/credit/sanctionentry/change_list.html"

    def has_add_permission(self, request):
        return False  # entries arrive through the CSV import

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="credit_sanctionentry_import",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_import": request.user.has_perm("credit.add_sanctionentry"),
        }
        return super().changelist_view(request, extra_context)

    def import_view(self, request):
        if not request.user.has_perm("credit.add_sanctionentry"):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        report = None
        if request.method == "POST" and form.is_valid():
            report = sanctions_import_csv(
                content=form.cleaned_data["file"].read(), actor=Actor.for_user(request.user)
            )
            if not report.errors:
                self.message_user(
                    request,
                    _("%(created)d entries imported, %(duplicates)d already on the list.")
                    % {"created": report.created, "duplicates": report.duplicates},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:credit_sanctionentry_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import a sanctions list"),
            "form": form,
            "report": report,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/credit/sanctionentry/import.html", context)
