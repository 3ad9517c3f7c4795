"""Workbench screens for the registry, users, API keys and webhooks (the registration files and
the working-day calendar have their own modules, registered from here).

Nothing here edits a status or a restriction directly: changes go through actions that call
`accounts.services`.
"""

from django.contrib import admin, messages
from django.contrib.admin.models import LogEntry
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts import (
    admin_calendar,  # noqa: F401 - registers the working-day calendar
    admin_files,  # noqa: F401 - registers the registration-file workbench
    services,
)
from accounts.actors import Actor
from accounts.admin_site import Queue
from accounts.models import (
    ApiKey,
    Party,
    PartyEvent,
    Restriction,
    User,
    WebhookDelivery,
    WebhookEndpoint,
)
from config.errors import Conflict


class ReadOnlyAdminMixin:
    """For records that change only through services: viewable, never edited by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "is_staff", "is_active", "role_names", "last_login"]
    list_filter = ["is_staff", "is_active", "groups"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description=_("roles"))
    def role_names(self, obj):
        return ", ".join(g.name for g in obj.groups.all())


class PartyEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = PartyEvent
    fields = ["at", "kind", "actor_label", "reason", "data"]
    readonly_fields = fields
    extra = 0
    ordering = ["at", "id"]
    verbose_name_plural = _("timeline")


class RestrictionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Restriction
    fields = ["kind", "starts_at", "ends_at", "reason", "legal_basis", "lifted_at"]
    readonly_fields = fields
    extra = 0
    show_change_link = True


@admin.register(Party)
class PartyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "name", "kind", "platform_ref", "restriction_count", "updated_at"]
    list_filter = ["kind"]
    search_fields = ["name", "platform_ref"]
    readonly_fields = ["kind", "name", "platform_ref", "created_at", "updated_at"]
    exclude = ["identity_hash"]
    inlines = [RestrictionInline, PartyEventInline]
    show_full_result_count = False

    def get_queryset(self, request):
        now = timezone.now()
        in_force = Q(restrictions__lifted_at__isnull=True, restrictions__starts_at__lte=now) & (
            Q(restrictions__ends_at__isnull=True) | Q(restrictions__ends_at__gt=now)
        )
        return (
            super()
            .get_queryset(request)
            .annotate(restriction_count=Count("restrictions", filter=in_force))
            # GROUP BY drops the model's default ordering; the autocomplete pages need one.
            .order_by("-id")
        )

    @admin.display(description=_("restrictions in force"), ordering="restriction_count")
    def restriction_count(self, obj):
        return obj.restriction_count


class InForceFilter(admin.SimpleListFilter):
    title = _("in force")
    parameter_name = "in_force"

    def lookups(self, request, model_admin):
        return [("yes", _("In force")), ("no", _("Ended or lifted"))]

    def queryset(self, request, queryset):
        in_force = Restriction.objects.in_force().values("pk")
        if self.value() == "yes":
            return queryset.filter(pk__in=in_force)
        if self.value() == "no":
            return queryset.exclude(pk__in=in_force)
        return queryset


@admin.register(Restriction)
class RestrictionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["party", "kind", "starts_at", "ends_at", "lifted_at", "created_by"]
    list_filter = [InForceFilter, "kind"]
    list_select_related = ["party"]
    search_fields = ["party__name", "reason"]
    readonly_fields = [
        "party",
        "kind",
        "starts_at",
        "ends_at",
        "reason",
        "legal_basis",
        "created_at",
        "created_by",
        "lifted_at",
        "lifted_by",
        "lift_reason",
    ]
    exclude = ["source_type", "source_id"]
    show_full_result_count = False


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created with `manage.py create_api_key` (the raw key is shown once, on a
    terminal); here they are listed and revoked."""

    list_display = ["name", "prefix", "scope_list", "party", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["party"]
    search_fields = ["name", "prefix"]
    readonly_fields = [
        "name",
        "prefix",
        "scopes",
        "party",
        "created_at",
        "created_by",
        "last_used_at",
        "revoked_at",
        "revoked_by",
    ]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("scopes"))
    def scope_list(self, obj):
        return ", ".join(obj.scopes)

    @admin.action(description=_("Revoke the selected keys"), permissions=["change"])
    def revoke(self, request, queryset):
        actor = Actor.for_user(request.user)
        revoked = 0
        for key in queryset.filter(revoked_at__isnull=True):
            services.api_key_revoke(key=key, actor=actor)
            self.log_change(request, key, "Revoked")
            revoked += 1
        self.message_user(
            request,
            ngettext("%d key revoked.", "%d keys revoked.", revoked) % revoked,
            messages.SUCCESS,
        )


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["name", "url", "is_active", "created_at"]
    list_filter = ["is_active"]
    fields = ["name", "url", "topics", "is_active"]

    def has_add_permission(self, request):
        # The signing secret must be shown to whoever registers the endpoint, once:
        # `manage.py create_webhook_endpoint` does that on a terminal.
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "topic",
        "endpoint",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "delivered_at",
    ]
    list_filter = ["status", "topic", "endpoint"]
    list_select_related = ["endpoint"]
    search_fields = ["=event_id"]
    readonly_fields = [
        "event_id",
        "endpoint",
        "topic",
        "payload",
        "status",
        "attempts",
        "next_attempt_at",
        "delivered_at",
        "last_status_code",
        "last_error",
        "created_at",
    ]
    actions = ["send_again"]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None):
        # Needed for the action; the form itself stays read-only (every field is read-only).
        return request.user.has_perm("accounts.change_webhookdelivery")

    @admin.action(
        description=_("Send the selected failed deliveries again"), permissions=["change"]
    )
    def send_again(self, request, queryset):
        actor = Actor.for_user(request.user)
        done = 0
        for delivery in queryset.filter(status=WebhookDelivery.Status.FAILED):
            try:
                services.webhook_delivery_requeue(delivery=delivery, actor=actor)
                self.log_change(request, delivery, "Queued again")
                done += 1
            except Conflict:
                continue
        self.message_user(
            request,
            ngettext("%d delivery queued again.", "%d deliveries queued again.", done) % done,
            messages.SUCCESS,
        )


@admin.register(LogEntry)
class LogEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Django's own record of admin changes, for auditors."""

    list_display = ["action_time", "user", "content_type", "object_repr", "action_flag"]
    list_filter = ["action_flag", "content_type"]
    list_select_related = ["user", "content_type"]
    search_fields = ["object_repr", "change_message", "user__username"]
    date_hierarchy = "action_time"
    show_full_result_count = False


admin.site.register_queue(
    Queue(
        key="webhooks_failed",
        title=_("Webhook deliveries that gave up"),
        permission="accounts.view_webhookdelivery",
        url_name="admin:accounts_webhookdelivery_changelist",
        query="status__exact=failed",
        count=lambda request: WebhookDelivery.objects.filter(status="failed").count(),
        order=900,
    )
)
admin.site.register_queue(
    Queue(
        key="restrictions_in_force",
        title=_("Restrictions in force"),
        permission="accounts.view_restriction",
        url_name="admin:accounts_restriction_changelist",
        query="in_force=yes",
        count=lambda request: Restriction.objects.in_force().count(),
        order=800,
    )
)
