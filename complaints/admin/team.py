"""The team's own screens: reply templates, reviewer capacities and reporter reputation."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import F
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.admin_paging import LargeTableAdminMixin
from accounts.admin_site import Queue
from complaints import services
from complaints.admin.common import handlers, reason_action
from complaints.models import (
    ReplyTemplate,
    ReporterReputation,
    ReviewerCapacity,
)

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
class ReporterReputationAdmin(LargeTableAdminMixin, admin.ModelAdmin):
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
        def review(reputation, note, actor):
            services.reputation_review(reputation=reputation, note=note, actor=actor)
            return 1

        return reason_action(
            self,
            request,
            queryset,
            label=_("what you concluded"),
            apply=review,
            done=lambda count: (
                ngettext("%d reporter reviewed.", "%d reporters reviewed.", count) % count
            ),
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
