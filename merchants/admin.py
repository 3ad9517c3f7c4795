from django.contrib import admin

from accounts.admin import ReadOnlyAdminMixin
from accounts.admin_files import ReadOnlyInline, RegistrationFileAdmin
from accounts.models import PartyKind
from merchants.models import Licence, MerchantProfile


class MerchantProfileInline(ReadOnlyInline):
    model = MerchantProfile
    fields = [
        "entity_type",
        "representative",
        "organisation_form",
        "registered_address",
        "categories",
    ]
    readonly_fields = fields


class LicenceInline(ReadOnlyInline):
    model = Licence
    fields = ["kind", "number", "issuer", "valid_from", "valid_until", "document"]
    readonly_fields = fields


for _kind in (PartyKind.MERCHANT, PartyKind.AGENCY):
    RegistrationFileAdmin.register_kind_inline(_kind, MerchantProfileInline)
    RegistrationFileAdmin.register_kind_inline(_kind, LicenceInline)


@admin.register(Licence)
class LicenceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Licences across files: what expires soon."""

    list_display = ["number", "kind", "file", "issuer", "valid_from", "valid_until"]
    list_filter = ["kind", "valid_until"]
    list_select_related = ["file"]
    search_fields = ["number", "file__name"]
    date_hierarchy = "valid_until"
    show_full_result_count = False
