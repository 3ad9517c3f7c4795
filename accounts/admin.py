"""Workbench screens for the registry, users, API keys and webhooks (the registration files and
the working-day calendar have their own modules, registered from here).

Nothing here edits a status or a restriction directly: changes go through actions that call
`accounts.services`.
"""

from django.contrib import admin, messages
from django.contrib.admin.models import LogEntry
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts import (
    admin_calendar,  # noqa: F401 - registers the working-day calendar
    admin_files,  # noqa: F401 - registers the registration-file workbench
    services,
)
from accounts.actors import Actor
from accounts.admin_paging import LargeTableAdminMixin, count_per_row
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
from config.api.lookups import storable_id
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


def parties_matching(term: str):
    """The parties a reviewer means by `term`, each way served by an index: the party number or
    the platform reference typed whole, or the beginning of the name. A name matched anywhere
    (LIKE '%term%') would read every one of a million parties on each search."""
    term = term.strip()
    if not term:
        return Party.objects.none()
    matches = Q(name__istartswith=term) | Q(platform_ref=term)
    if (pk := storable_id(term)) is not None:
        matches |= Q(pk=pk)
    return Party.objects.filter(matches)


@admin.register(Party)
class PartyAdmin(LargeTableAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "name", "kind", "platform_ref", "restriction_count", "updated_at"]
    list_filter = ["kind"]
    # The beginning of the name, the platform reference whole; the number in get_search_results.
    search_fields = ["^name", "=platform_ref"]
    readonly_fields = ["kind", "name", "platform_ref", "created_at", "updated_at"]
    exclude = ["identity_hash"]
    inlines = [RestrictionInline, PartyEventInline]
    show_full_result_count = False

    def get_queryset(self, request):
        # Counted for the parties on the page only: a GROUP BY over a million parties would be
        # the slowest part of the page, and of its count.
        return (
            super()
            .get_queryset(request)
            .annotate(restriction_count=count_per_row(Restriction.objects.in_force(), "party"))
        )

    def get_search_results(self, request, queryset, search_term):
        filtered = queryset
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if (pk := storable_id(search_term)) is not None:
            queryset |= filtered.filter(pk=pk)
        return queryset, may_have_duplicates

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
class RestrictionAdmin(LargeTableAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["party", "kind", "starts_at", "ends_at", "lifted_at", "created_by"]
    list_filter = [InForceFilter, "kind"]
    list_select_related = ["party"]
    search_fields = ["^party__name", "=party__platform_ref"]
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
        "reversed_on_appeal",
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


class TopicFilter(admin.SimpleListFilter):
    """The topics of the latest deliveries (read backwards along the primary key), not a
    DISTINCT over every delivery ever made."""

    title = _("topic")
    parameter_name = "topic"
    # Every topic the platform sends shows up among this many recent deliveries.
    RECENT = 1_000

    def lookups(self, request, model_admin):
        recent = WebhookDelivery.objects.order_by("-id").values_list("topic", flat=True)
        return [(topic, topic) for topic in sorted(set(recent[: self.RECENT]))]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(topic=self.value())
        return queryset


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(LargeTableAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
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
    list_filter = ["status", TopicFilter, "endpoint"]
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
class LogEntryAdmin(LargeTableAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Django's own record of admin changes, for auditors."""

    list_display = ["action_time", "user", "content_type", "object_repr", "action_flag"]
    # A date filter rather than a date hierarchy: the hierarchy's DISTINCT over the years of
    # every entry reads the whole log.
    list_filter = ["action_flag", "action_time", "content_type"]
    list_select_related = ["user", "content_type"]
    # The start of the object's name and the user whole: the log grows with every change made.
    search_fields = ["^object_repr", "=user__username"]
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
