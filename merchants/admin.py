from django.contrib import admin

from accounts.admin import ReadOnlyAdminMixin
from accounts.admin_files import ReadOnlyInline, RegistrationFileAdmin
from accounts.admin_paging import LargeTableAdminMixin
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
class LicenceAdmin(LargeTableAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Licences across files: what expires soon."""

    list_display = ["number", "kind", "file", "issuer", "valid_from", "valid_until"]
    # `valid_until` as a date filter, not a date hierarchy: its DISTINCT over the years of
    # every licence reads the whole table.
    list_filter = ["kind", "valid_until"]
    list_select_related = ["file"]
    search_fields = ["=number", "^file__name"]
    show_full_result_count = False
