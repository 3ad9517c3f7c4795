"""Authorities and the referral outbox in the admin. Leads keep the authorities (the shared
secret is write-only) and resend or record acknowledgements; the authority liaison reads
referrals and authorities, and downloads the dossiers."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache

from accounts.admin_paging import LargeTableAdminMixin
from accounts.admin_site import Queue
from enforcement import services
from enforcement.admin.common import EmptyForm, ObjectAction, ObjectActionsMixin, admin_link
from enforcement.models import Authority, Referral, ReferralStatus

# --- Authorities ----------------------------------------------------------------------------------


class AuthorityForm(forms.ModelForm):
    # Write-only: never rendered back, kept as it is when left empty.
    shared_secret = forms.CharField(
        label=_("shared secret"),
        required=False,
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_(
            "Signs the dossiers sent to the endpoint. Leave empty to keep the current one; it is "
            "never shown again."
        ),
    )

    endpoint_url = forms.URLField(
        label=_("HTTPS endpoint"), max_length=500, required=False, assume_scheme="https"
    )

    class Meta:
        model = Authority
        fields = ["name", "kind", "level", "email", "endpoint_url", "shared_secret", "is_active"]

    def clean_shared_secret(self):
        return self.cleaned_data["shared_secret"] or self.instance.shared_secret


@admin.register(Authority)
class AuthorityAdmin(admin.ModelAdmin):
    form = AuthorityForm
    list_display = ["name", "kind", "level", "email", "endpoint_url", "is_active"]
    list_filter = ["kind", "level", "is_active"]
    search_fields = ["name"]
    readonly_fields = ["secret_set"]

    # Referrals point at authorities: one that is no longer used is made inactive.
    def has_delete_permission(self, request, obj=None):
        return False

    def get_fields(self, request, obj=None):
        fields = list(AuthorityForm.Meta.fields)
        if not self.has_change_permission(request, obj):
            # Read-only pages would print the field's value: show only whether it is set.
            fields[fields.index("shared_secret")] = "secret_set"
        return fields

    @admin.display(description=_("shared secret set"), boolean=True)
    def secret_set(self, obj):
        return bool(obj.shared_secret)


# --- Referrals ------------------------------------------------------------------------------------


class AcknowledgeForm(forms.Form):
    # Not required here: the service says why an empty reference is refused, in one place.
    reference = forms.CharField(
        label=_("the authority's reference"), max_length=200, required=False
    )


def _run_requeue(referral, form, actor):
    services.referral_requeue(referral=referral, actor=actor)
    return _("Queued for delivery again.")


def _run_acknowledge(referral, form, actor):
    services.referral_acknowledge(
        referral=referral, reference=form.cleaned_data["reference"], actor=actor
    )
    return _("Acknowledgement recorded.")


REFERRAL_ACTIONS = (
    ObjectAction(
        "requeue",
        _("Send again"),
        _("Send again"),
        EmptyForm,
        _run_requeue,
        ("enforcement.retry_referral",),
        lambda referral: referral.status == ReferralStatus.FAILED,
        bulk=True,
    ),
    ObjectAction(
        "acknowledge",
        _("Record the authority's acknowledgement"),
        _("Record"),
        AcknowledgeForm,
        _run_acknowledge,
        ("enforcement.change_referral",),
        lambda referral: referral.status == ReferralStatus.DELIVERED,
    ),
)


@admin.register(Referral)
class ReferralAdmin(LargeTableAdminMixin, ObjectActionsMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "measure",
        "authority",
        "purpose",
        "status",
        "attempts",
        "next_attempt_at",
        "error",
        "delivered_at",
        "acknowledged_at",
    ]
    list_filter = ["status", "purpose", "authority"]
    list_select_related = ["measure__party", "authority"]
    search_fields = ["^measure__party__name", "^authority__name", "=acknowledgement"]
    show_full_result_count = False
    list_per_page = 50
    object_actions = REFERRAL_ACTIONS
    fields = [
        "measure_link",
        "authority",
        "purpose",
        "status",
        "idempotency_key",
        "dossier_link",
        "dossier_sha256",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "delivered_at",
        "acknowledged_at",
        "acknowledgement",
        "created_at",
    ]
    readonly_fields = [*fields, "measure_name"]

    # The outbox is written by measure execution; it changes only through the actions.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_fields(self, request, obj=None):
        if request.user.has_perm("enforcement.view_measure"):
            return self.fields
        # The liaison reads referrals, not the measures behind them: no link to a page they
        # may not open.
        return ["measure_name" if name == "measure_link" else name for name in self.fields]

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        # The idempotency key an authority quotes back is a UUID: compared only with a term that
        # is one (the column would refuse anything else).
        try:
            key = uuid.UUID(search_term.strip())
        except ValueError:
            return results, may_have_duplicates
        return results | queryset.filter(idempotency_key=key), may_have_duplicates

    @admin.display(description=_("last error"))
    def error(self, obj):
        return obj.last_error[:80]

    @admin.display(description=_("measure"))
    def measure_link(self, obj):
        return admin_link(obj.measure)

    @admin.display(description=_("measure"))
    def measure_name(self, obj):
        return str(obj.measure)

    @admin.display(description=_("dossier"))
    def dossier_link(self, obj):
        if not obj.dossier:
            return "—"
        url = reverse("admin:enforcement_referral_dossier", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Download the signed dossier (ZIP)"))

    def get_urls(self):
        return [
            path(
                "<int:pk>/dossier/",
                self.admin_site.admin_view(never_cache(self.dossier_view)),
                name="enforcement_referral_dossier",
            ),
            *super().get_urls(),
        ]

    def dossier_view(self, request, pk):
        """The dossier exactly as it was sent: streamed from storage, never from a public URL."""
        if not request.user.has_perm("enforcement.view_referral"):
            raise PermissionDenied
        referral = get_object_or_404(Referral.objects.exclude(dossier=""), pk=pk)
        try:
            handle = default_storage.open(referral.dossier, "rb")
        except FileNotFoundError:
            raise Http404 from None
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=f"dossier-{referral.idempotency_key}.zip",
            content_type="application/zip",
        )
        response["Cache-Control"] = "private, no-store"
        return response


admin.site.register_queue(
    Queue(
        key="referrals_failed",
        title=_("Referrals that could not be delivered"),
        permission="enforcement.retry_referral",
        url_name="admin:enforcement_referral_changelist",
        query="status__exact=failed",
        count=lambda request: Referral.objects.filter(status=ReferralStatus.FAILED).count(),
        order=44,
    )
)
