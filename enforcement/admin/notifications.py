"""The notification outbox in the admin: what the enforcement app owes the leads and the parties
by e-mail, and what became of each. Read-only; the worker and the relay do the sending."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.admin import ReadOnlyAdminMixin
from enforcement.models import Notification


class HandledFilter(admin.SimpleListFilter):
    title = _("handled")
    parameter_name = "handled"

    def lookups(self, request, model_admin):
        return [("no", _("Not yet (waiting, or refused by the mail server)")), ("yes", _("Yes"))]

    def queryset(self, request, queryset):
        if self.value() in ("no", "yes"):
            return queryset.filter(handled_at__isnull=self.value() == "no")
        return queryset


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Recorded by the services, sent by the worker."""

    list_display = ["created_at", "kind", "about", "handled_at", "attempts", "outcome"]
    list_filter = [HandledFilter, "kind"]
    fields = ["kind", "about", "created_at", "handled_at", "attempts", "outcome"]
    readonly_fields = fields
    date_hierarchy = "created_at"
    show_full_result_count = False

    @admin.display(description=_("about"))
    def about(self, obj):
        return format_html('<a href="{}">#{}</a>', obj.about_url(), obj.object_id)
