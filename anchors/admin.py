from django.contrib import admin

from accounts.admin import ReadOnlyAdminMixin
from accounts.admin_files import ReadOnlyInline, RegistrationFileAdmin
from accounts.admin_paging import LargeTableAdminMixin
from accounts.models import PartyKind
from anchors.models import (
    AgencyMembership,
    AnchorProfile,
    GuardianConsent,
    Qualification,
    TrainingRecord,
)


class AnchorProfileInline(ReadOnlyInline):
    model = AnchorProfile
    fields = ["birth_date", "sex", "job_title", "topics", "is_ai_presenter", "ai_operator"]
    readonly_fields = fields


class GuardianConsentInline(ReadOnlyInline):
    model = GuardianConsent
    fields = ["guardian_name", "relation", "guardian_id_masked", "document"]
    readonly_fields = fields


class QualificationInline(ReadOnlyInline):
    model = Qualification
    fields = ["topic", "name", "number", "document"]
    readonly_fields = fields


for _inline in (AnchorProfileInline, GuardianConsentInline, QualificationInline):
    RegistrationFileAdmin.register_kind_inline(PartyKind.ANCHOR, _inline)


class ReadOnlyAdmin(LargeTableAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


@admin.register(TrainingRecord)
class TrainingRecordAdmin(ReadOnlyAdmin):
    list_display = ["anchor", "kind", "completed_on", "provider", "hours"]
    list_filter = ["kind"]
    list_select_related = ["anchor"]
    search_fields = ["^anchor__name", "^provider"]


@admin.register(AgencyMembership)
class AgencyMembershipAdmin(ReadOnlyAdmin):
    list_display = ["anchor", "agency", "started_at", "ended_at"]
    list_select_related = ["anchor", "agency"]
    search_fields = ["^anchor__name", "^agency__name"]
