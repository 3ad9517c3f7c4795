"""The patrol workbench: sessions on air by risk with their open alerts, inspections, alert
decisions, monitoring rules as data, and coverage per shift."""

import math
from datetime import time, timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, OuterRef, Q, Subquery
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.actors import Actor
from accounts.admin import ReadOnlyAdminMixin
from accounts.admin_forms import (
    DateInput,
    add_service_errors,
    admin_link,
    bullets,
    reason_page,
    yuan,
)
from accounts.admin_paging import LargeTableAdminMixin, count_per_row
from accounts.admin_site import Queue
from accounts.models import Party
from config.api.lookups import BIGINT_MAX, storable_id
from config.errors import Conflict
from liverooms import services
from liverooms.models import (
    RULE_CATEGORIES,
    Alert,
    AlertStatus,
    ContentLabel,
    GoLiveRefusal,
    Inspection,
    InspectionResult,
    LiveRoom,
    LiveSession,
    MonitoringRule,
    RiskGrade,
    RoomEvent,
    RuleStatus,
    SessionAnchor,
    SessionProduct,
    SessionStatus,
    SignalKind,
)
from liverooms.monitoring.engine import RuleError
from liverooms.rules import to_engine_rule
from liverooms.shifts import Shift, on_air_during, peak_on_air, shift_at, shift_of, starts
from merchants.models import Category, Product

# The items of a session's pre-stream review (liverooms/review.py), as the page names them.
REVIEW_ITEMS = {
    "script_reviewed": _("scripts reviewed"),
    "set_reviewed": _("set reviewed"),
    "products_reviewed": _("products and their documents reviewed"),
    "reviewer": _("reviewer"),
    "notes": _("notes"),
}
# The factors of a room's risk grade (services.rooms_regrade and the factors other apps add).
RISK_FACTORS = {
    "followers": _("followers"),
    "sales": _("sales in the last 30 days"),
    "category": _("high-risk category"),
    "compliance_record": _("restrictions in the last year"),
    "alerts": _("alerts in the last 30 days"),
    "anchors_record": _("its anchors' restrictions in the last year"),
    "complaints": _("concentrated complaints"),
}


class RoomEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The room's timeline: registered, changed hands, category changed (services.room_register),
    the parties and categories named in words."""

    model = RoomEvent
    fields = ["at", "kind", "details", "actor_label"]
    readonly_fields = fields
    extra = 0
    ordering = ["at", "id"]
    verbose_name_plural = _("timeline")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The parties the timeline names, read once for the page (an inline is made per request).
        self._parties = None

    def _party(self, obj, pk) -> str:
        if self._parties is None:
            named = {
                value
                for data in RoomEvent.objects.filter(room_id=obj.room_id).values_list(
                    "data", flat=True
                )
                for key, value in (data or {}).items()
                if key in ("owner", "from", "to") and type(value) is int
            }
            self._parties = Party.objects.in_bulk(named)
        party = self._parties.get(pk)
        return admin_link(party) if party else (str(pk) if pk else "—")

    @admin.display(description=_("details"))
    def details(self, obj):
        data = obj.data or {}
        if obj.kind == RoomEvent.Kind.REGISTERED:
            return format_html(
                "{}: {} · {}: {}",
                _("owner"),
                self._party(obj, data.get("owner")),
                _("category"),
                CATEGORY_NAMES.get(data.get("category"), data.get("category")),
            )
        if obj.kind == RoomEvent.Kind.CHANGED_HANDS:
            return format_html(
                "{} → {}", self._party(obj, data.get("from")), self._party(obj, data.get("to"))
            )
        return format_html(
            "{} → {}",
            CATEGORY_NAMES.get(data.get("from"), data.get("from")),
            CATEGORY_NAMES.get(data.get("to"), data.get("to")),
        )


CATEGORY_NAMES = dict(Category.choices)


@admin.register(LiveRoom)
class LiveRoomAdmin(LargeTableAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "title",
        "platform_ref",
        "owner",
        "category",
        "followers_counted",
        "risk_grade",
        "risk_score",
        "risk_graded_at",
    ]
    list_filter = ["risk_grade", "category"]
    list_select_related = ["owner"]
    # Prefixes and whole references (indexable), not substrings over every room.
    search_fields = ["^title", "=platform_ref", "^owner__name"]
    search_help_text = _(
        "The beginning of a room's title or of its owner's name, or a platform room id in full."
    )
    show_full_result_count = False
    fields = [
        "title",
        "platform_ref",
        "owner",
        "category",
        "followers_counted",
        "monthly_sales",
        "risk_grade",
        "risk_score",
        "risk_factors",
        "risk_graded_at",
        "records",
    ]
    readonly_fields = fields
    inlines = [RoomEventInline]

    @admin.display(description=_("followers"), ordering="followers")
    def followers_counted(self, obj):
        return f"{obj.followers:,}"

    @admin.display(description=_("sales in the last 30 days"))
    def monthly_sales(self, obj):
        return yuan(obj.monthly_sales_fen)

    @admin.display(description=_("risk reasons"))
    def risk_factors(self, obj):
        """What the grade was made of (services.rooms_regrade), in words, with the points."""
        if not obj.risk_reasons:
            return "—"
        return bullets(
            (RISK_FACTORS.get(reason["factor"], reason["factor"]), reason["points"])
            for reason in obj.risk_reasons
        )

    @admin.display(description=_("records"))
    def records(self, obj):
        """The room's sessions, refused go-lives and alerts, each in its own list."""
        links = [
            (LiveSession, f"room__id__exact={obj.pk}"),
            (GoLiveRefusal, f"room__id__exact={obj.pk}"),
            (Alert, f"session__room__id__exact={obj.pk}"),
        ]
        return format_html_join(
            " · ",
            '<a href="{}?{}">{}</a>',
            (
                (
                    reverse(f"admin:liverooms_{model._meta.model_name}_changelist"),
                    query,
                    capfirst(model._meta.verbose_name_plural),
                )
                for model, query in links
            ),
        )


class SessionAnchorInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SessionAnchor
    # The name is each row's title (SessionAnchor.__str__).
    fields = ["id_number_masked", "is_ai_presenter"]
    readonly_fields = fields
    extra = 0


class SessionProductInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SessionProduct
    # The product is each row's title (SessionProduct.__str__).
    fields = ["merchant"]
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product", "merchant")


class AlertInline(ReadOnlyAdminMixin, admin.TabularInline):
    """A session's latest alerts; all of them in the alert list (`PatrolAdmin.alerts_of`). A
    session on air for hours with a busy chat raises thousands, and the page would list each."""

    model = Alert
    fields = ["raised_at", "rule", "severity", "signal_kind", "excerpt", "status"]
    readonly_fields = fields
    extra = 0
    show_change_link = True
    verbose_name_plural = _("latest alerts")
    shown = 50

    def get_queryset(self, request):
        # The rule is a column and in each row's title (Alert.__str__).
        return super().get_queryset(request).select_related("rule")

    def latest_of(self, session, queryset):
        """`queryset` cut to the session's latest alerts. By their ids: the inline's formset
        filters the queryset by session afterwards, which a sliced one refuses."""
        latest = Alert.objects.filter(session=session).order_by("-raised_at", "-id")
        return queryset.filter(pk__in=latest.values("pk")[: self.shown])


class InspectionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Inspection
    fields = ["at", "inspector", "result", "findings"]
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request):
        # The inspector is a column; each row's title (Inspection.__str__) names the session's
        # room.
        return super().get_queryset(request).select_related("inspector", "session__room")


class ClipInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ContentLabel
    fields = ["kind", "platform_ref", "identifier", "ai_generated", "created_at"]
    readonly_fields = fields
    extra = 0


class InspectionForm(forms.Form):
    result = forms.ChoiceField(label=_("result"), choices=InspectionResult.choices)
    findings = forms.CharField(label=_("findings"), required=False, widget=forms.Textarea)
    identity_checked = forms.BooleanField(
        label=_("anchors match their reported identity"), required=False
    )
    labels_checked = forms.BooleanField(label=_("content and AI labels shown"), required=False)
    products_checked = forms.BooleanField(label=_("products match the listing"), required=False)
    screenshot = forms.FileField(label=_("screenshot"), required=False)


class ShiftForm(forms.Form):
    """The shift the coverage report is drawn up for: a day and the time its shift began."""

    day = forms.DateField(label=_("day"), widget=DateInput)
    begins = forms.ChoiceField(label=_("shift"))

    def __init__(self, *args, now, **kwargs):
        super().__init__(*args, **kwargs)
        self.now = now
        times = starts()
        self.fields["begins"].choices = [
            (f"{t:%H:%M}", f"{t:%H:%M}–{times[(i + 1) % len(times)]:%H:%M}")
            for i, t in enumerate(times)
        ]

    def clean(self):
        cleaned = super().clean()
        day, begins = cleaned.get("day"), cleaned.get("begins")
        if day is None or begins is None:
            return cleaned
        days = settings.PATROL_COVERAGE_DAYS
        today = timezone.localdate(self.now)
        # A shift is only worked out for a day near today (year 9999 has no next day to end its
        # last shift on).
        near = today - timedelta(days=days + 1) <= day <= today
        shift = shift_of(day, time.fromisoformat(begins)) if near else None
        if day > today or (shift is not None and shift.start > self.now):
            raise ValidationError(_("That shift has not begun yet."))
        if shift is None or shift.end <= self.now - timedelta(days=days):
            raise ValidationError(
                ngettext(
                    "The coverage report reaches back %(days)d day.",
                    "The coverage report reaches back %(days)d days.",
                    days,
                )
                % {"days": days}
            )
        cleaned["shift"] = shift
        return cleaned


# A high-risk session's first inspection against its deadline (settings.PATROL_HIGH_RISK_MINUTES
# after going live).
COVERAGE_STATES = {
    "in_time": _("inspected in time"),
    "late": _("inspected late"),
    # On air past the deadline uninspected, or off the air after it without an inspection.
    "never": _("never inspected"),
    # On air, uninspected, the deadline still ahead.
    "pending": _("pending"),
    # Off the air, uninspected, before its deadline came: nothing the patrol missed.
    "ended_early": _("ended before the deadline"),
}


def _coverage_state(session, due, now) -> str:
    first = session.first_inspection
    if first is not None:
        return "in_time" if first <= due else "late"
    if session.ended_at is None:
        return "pending" if now <= due else "never"
    return "ended_early" if session.ended_at <= due else "never"


@admin.register(LiveSession)
class PatrolAdmin(LargeTableAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The patrol queue: sessions on air, highest risk first, with their open alerts."""

    list_display = [
        "room",
        "risk",
        "started_at",
        "minutes_on_air",
        "open_alerts",
        "inspections_count",
        "inspect_link",
    ]
    list_filter = ["status", "room__risk_grade", "ai_generated"]
    list_select_related = ["room"]
    # Prefixes and whole references: the autocomplete of every form that names a session too.
    search_fields = ["^room__title", "=room__platform_ref", "^anchors__name"]
    search_help_text = _(
        "The beginning of a room's title or of an anchor's name, or a platform room id in full."
    )
    inlines = [
        SessionAnchorInline,
        SessionProductInline,
        AlertInline,
        InspectionInline,
        ClipInline,
    ]
    # Riskiest first, then longest on air. As an attribute, not get_ordering(): the change list
    # draws its sort arrows from this.
    ordering = ["-room__risk_score", "started_at"]
    readonly_fields = [
        "room",
        "owner",
        "status",
        "started_at",
        "ended_at",
        "ended_reason",
        "ai_generated",
        "content_label",
        "pre_stream_review",
        "alerts_of",
        "inspect_link",
    ]
    # Only these: the model's editable fields would be shown again, the review as stored JSON.
    fields = readonly_fields
    show_full_result_count = False

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, AlertInline):
            kwargs["queryset"] = inline.latest_of(obj, kwargs["queryset"])
        return kwargs

    @admin.display(description=_("pre-stream review"))
    def pre_stream_review(self, obj):
        """The review the go-live recorded (LCM Art. 30), item by item in words."""
        review = obj.pre_stream_checklist or {}
        return bullets(
            (
                REVIEW_ITEMS.get(item, item),
                (_("Yes") if value else _("No")) if isinstance(value, bool) else value,
            )
            for item, value in review.items()
        )

    @admin.display(description=_("alerts"))
    def alerts_of(self, obj):
        """How many alerts the session raised, open ones apart, and the way to all of them: the
        page lists the latest only."""
        counts = obj.alerts.aggregate(
            total=Count("pk"), open=Count("pk", filter=Q(status=AlertStatus.OPEN))
        )
        url = reverse("admin:liverooms_alert_changelist") + f"?session__id__exact={obj.pk}"
        return format_html(
            '{} <a href="{}">{}</a>',
            _("%(total)s in all, %(open)s open.") % counts,
            url,
            _("All of this session's alerts"),
        )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            # Counted for the sessions on the page only, not grouped over every session.
            .annotate(
                open_alert_count=count_per_row(
                    Alert.objects.filter(status=AlertStatus.OPEN), "session"
                ),
                inspection_count=count_per_row(Inspection.objects.all(), "session"),
            )
        )

    @admin.display(description=_("risk"), ordering="room__risk_score")
    def risk(self, obj):
        return f"{obj.room.get_risk_grade_display()} ({obj.room.risk_score})"

    @admin.display(description=_("minutes on air"))
    def minutes_on_air(self, obj):
        end = obj.ended_at or timezone.now()
        return int((end - obj.started_at).total_seconds() // 60)

    @admin.display(description=_("open alerts"), ordering="open_alert_count")
    def open_alerts(self, obj):
        return obj.open_alert_count

    @admin.display(description=_("inspections"), ordering="inspection_count")
    def inspections_count(self, obj):
        return obj.inspection_count

    @admin.display(description=_("inspect"))
    def inspect_link(self, obj):
        if obj.status != SessionStatus.LIVE:
            return "—"
        url = reverse("admin:liverooms_livesession_inspect", args=[obj.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("Inspect"))

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:pk>/inspect/", wrap(self.inspect_view), name="liverooms_livesession_inspect"
            ),
            path("coverage/", wrap(self.coverage_view), name="liverooms_livesession_coverage"),
            *super().get_urls(),
        ]

    def inspect_view(self, request, pk):
        if not request.user.has_perm("liverooms.add_inspection"):
            raise PermissionDenied
        session = get_object_or_404(LiveSession.objects.select_related("room"), pk=pk)
        if request.method != "POST" and session.status != SessionStatus.LIVE:
            # An empty form that could only be refused (an old link, a session that ended):
            # the session's page instead. A form already filled in is kept with the refusal.
            self.message_user(request, services.NOT_ON_AIR, messages.WARNING)
            return HttpResponseRedirect(
                reverse("admin:liverooms_livesession_change", args=[session.pk])
            )
        form = InspectionForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                inspection = services.inspection_record(
                    session=session,
                    checklist={
                        k: data[k]
                        for k in ("identity_checked", "labels_checked", "products_checked")
                    },
                    findings=data["findings"],
                    result=data["result"],
                    screenshot=data["screenshot"],
                    actor=Actor.for_user(request.user),
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                # On the session's history: inspections have no page of their own.
                added = {"name": str(Inspection._meta.verbose_name), "object": str(inspection)}
                self.log_change(request, session, [{"added": added}])
                self.message_user(request, _("Inspection recorded."), messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:liverooms_livesession_changelist") + "?status__exact=live"
                )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Inspect %(session)s") % {"session": session},
            "session": session,
            "form": form,
            "opts": self.model._meta,
            "alerts": session.alerts.filter(status=AlertStatus.OPEN).select_related("rule"),
        }
        return TemplateResponse(request, "admin/liverooms/inspect.html", context)

    def coverage_view(self, request):
        """Patrol coverage of a shift: every high-risk session on air at any time in it, ended
        or not, with whether it was inspected within the deadline of going live; and the most
        sessions on air at once in the shift against the reviewers who inspected in it (the
        1:50 guideline). The shift under way unless the query string names another."""
        if not request.user.has_perm("liverooms.view_inspection"):
            raise PermissionDenied
        now = timezone.now()
        current = shift_at(now)
        named = "day" in request.GET or "begins" in request.GET
        form = ShiftForm(
            request.GET if named else None,
            now=now,
            initial={"day": current.day, "begins": f"{current.begins:%H:%M}"},
        )
        shift: Shift = form.cleaned_data["shift"] if named and form.is_valid() else current
        # The shift under way is reported up to now.
        start, end = shift.start, min(shift.end, now)
        # A session that went live and ended uninspected stays in the report. The grade is the
        # room's as stored. The first inspection comes in the same query, not one per row.
        high = (
            on_air_during(start, end)
            .filter(room__risk_grade=RiskGrade.HIGH)
            .select_related("room")
            .annotate(
                first_inspection=Subquery(
                    Inspection.objects.filter(session=OuterRef("pk"))
                    .order_by("at")
                    .values("at")[:1]
                )
            )
            .order_by("started_at", "pk")
        )
        deadline = timedelta(minutes=settings.PATROL_HIGH_RISK_MINUTES)
        rows, counts = [], dict.fromkeys(COVERAGE_STATES, 0)
        for session in high:
            state = _coverage_state(session, session.started_at + deadline, now)
            counts[state] += 1
            rows.append(
                {
                    "session": session,
                    "first": session.first_inspection,
                    "state": state,
                    "state_label": COVERAGE_STATES[state],
                    "on_time": state == "in_time",
                    "overdue": state == "never",
                }
            )
        reviewers = list(
            Inspection.objects.filter(at__gte=start, at__lt=end)
            .values("inspector__username")
            .annotate(n=Count("pk"), sessions=Count("session", distinct=True))
            .order_by("-n", "inspector__username")
        )
        peak = peak_on_air(start, end)
        guideline = settings.PATROL_ROOMS_PER_REVIEWER
        previous = shift_at(shift.start - timedelta(microseconds=1))
        if previous.end <= now - timedelta(days=settings.PATROL_COVERAGE_DAYS):
            previous = None
        following = shift_at(shift.end) if shift.end <= now else None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Patrol coverage"),
            "opts": self.model._meta,
            "form": form,
            "shift": shift,
            "is_current": shift == current,
            "previous": self._shift_query(previous) if previous else None,
            "following": self._shift_query(following) if following else None,
            "rows": rows,
            "counts": [(COVERAGE_STATES[state], n) for state, n in counts.items()],
            "on_air": LiveSession.objects.filter(status=SessionStatus.LIVE).count()
            if shift == current
            else None,
            "peak": peak,
            "reviewers": reviewers,
            "rooms_per_reviewer": round(peak / len(reviewers), 1) if reviewers else None,
            "reviewers_needed": math.ceil(peak / guideline),
            "understaffed": peak > guideline * len(reviewers),
            "guideline": guideline,
            "minutes": settings.PATROL_HIGH_RISK_MINUTES,
        }
        return TemplateResponse(request, "admin/liverooms/coverage.html", context)

    @staticmethod
    def _shift_query(shift: Shift) -> str:
        return f"?day={shift.day:%Y-%m-%d}&begins={shift.begins:%H:%M}"


class RuleCategoryFilter(admin.SimpleListFilter):
    """The categories of the monitoring rules (a few dozen rows), not a DISTINCT over the rule
    of every alert ever raised."""

    title = _("category")
    parameter_name = "rule_category"

    def lookups(self, request, model_admin):
        categories = (
            MonitoringRule.objects.order_by("category")
            .values_list("category", flat=True)
            .distinct()
        )
        return [(category, RULE_CATEGORIES.get(category, category)) for category in categories]

    def queryset(self, request, queryset):
        if self.value():
            # The rules of the category first, then their alerts by (rule, status).
            rules = MonitoringRule.objects.filter(category=self.value()).values("pk")
            return queryset.filter(rule__in=rules)
        return queryset


class OwnCategoryFilter(RuleCategoryFilter):
    """The rules' own list, by their categories in words."""

    parameter_name = "category"

    def queryset(self, request, queryset):
        return queryset.filter(category=self.value()) if self.value() else queryset


def _decision(alert) -> str:
    """An alert's decision as its history (LogEntry) records it: the outcome, and the note."""
    status = str(alert.get_status_display())
    return f"{status}: {alert.note}" if alert.note else status


# The reason page (accounts.admin_forms.reason_page), showing the alerts with their excerpts.
DECIDE_TEMPLATE = "admin/liverooms/alert/decide.html"


class DismissForm(forms.Form):
    # Not required here: the service says why an empty reason is refused, in one place.
    note = forms.CharField(
        label=_("why it is a false alarm"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "vLargeTextField"}),
    )


class AlertDecideForm(forms.Form):
    status = forms.ChoiceField(
        label=_("decision"),
        choices=[
            (AlertStatus.CONFIRMED, _("Confirm: a real violation, kept as evidence")),
            (AlertStatus.DISMISSED, _("Dismiss: a false alarm")),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "vLargeTextField"}),
        help_text=_("Required to dismiss: why it is a false alarm. Optional to confirm."),
    )


@admin.register(Alert)
class AlertAdmin(LargeTableAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "raised_at",
        "status",
        "severity",
        "rule",
        "signal_kind",
        "excerpt_quoted",
        "session_room",
        "note_excerpt",
    ]
    list_filter = ["status", "severity", RuleCategoryFilter]
    list_select_related = ["rule", "session__room"]
    # A rule's code or a room's platform reference, whole: found through the rule and the room
    # first. A substring of the excerpt would read every one of millions of alerts.
    search_fields = ["=rule__code", "=session__room__platform_ref"]
    search_help_text = _("A rule's code or a platform room id, in full, or an alert's number.")
    show_full_result_count = False
    actions = ["confirm", "dismiss"]

    def has_change_permission(self, request, obj=None):
        # For the actions and the decision page. An alert's own page only shows it: its fields
        # are read-only, and with Save buttons it looked editable.
        return obj is None and request.user.has_perm("liverooms.change_alert")

    def lookup_allowed(self, lookup, value, request=None):
        # A room's alerts, linked from the room's page (LiveRoomAdmin.records).
        return lookup == "session__room__id__exact" or super().lookup_allowed(
            lookup, value, request
        )

    def get_search_results(self, request, queryset, search_term):
        filtered = queryset
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        # An alert's number, as the evidence forms' autocomplete is typed.
        if (pk := storable_id(search_term)) is not None:
            queryset |= filtered.filter(pk=pk)
        return queryset, may_have_duplicates

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Alert._meta.fields]

    @admin.display(description=_("live session"), ordering="session__started_at")
    def session_room(self, obj):
        """The session by its room, a link to its page: the session's own title (room and
        start) is too wide for the list, and the start is the alert's time give or take."""
        return admin_link(obj.session, obj.session.room.title)

    @admin.display(description=_("note"))
    def note_excerpt(self, obj):
        return format_html(
            '<span class="quoted">{}</span>', obj.note[:60] + ("…" if len(obj.note) > 60 else "")
        )

    @admin.display(description=_("excerpt"))
    def excerpt_quoted(self, obj):
        # In a box of its own width (site/admin.css): a table cell of Chinese text shrinks.
        return format_html('<span class="quoted">{}</span>', obj.excerpt)

    def _decide(self, request, queryset, status, note=""):
        actor, done = Actor.for_user(request.user), 0
        for alert in queryset.filter(status=AlertStatus.OPEN):
            try:
                # The same note for each: a ValidationError for it comes on the first alert,
                # before any is decided, and goes back to the form.
                decided = services.alert_decide(alert=alert, status=status, note=note, actor=actor)
                self.log_change(request, alert, _decision(decided))
                done += 1
            except Conflict:
                continue
        self.message_user(
            request,
            ngettext("%d alert decided.", "%d alerts decided.", done) % done,
            messages.SUCCESS,
        )

    @admin.action(description=_("Confirm: a real violation"), permissions=["change"])
    def confirm(self, request, queryset):
        self._decide(request, queryset, AlertStatus.CONFIRMED)

    @admin.action(description=_("Dismiss: a false alarm, with a reason"), permissions=["change"])
    def dismiss(self, request, queryset):
        # Open alerts are few (decided within the shift): listed whole on the page.
        alerts = list(
            queryset.filter(status=AlertStatus.OPEN).select_related("rule", "session__room")
        )
        if not alerts:
            self.message_user(request, _("None of the selected alerts is open."), messages.WARNING)
            return None
        form = DismissForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            try:
                self._decide(
                    request, queryset, AlertStatus.DISMISSED, note=form.cleaned_data["note"]
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                return None
        return reason_page(
            self,
            request,
            template=DECIDE_TEMPLATE,
            form=form,
            objects=alerts,
            title=_("Dismiss alerts"),
            intro=_(
                "Each selected open alert is dismissed with this reason, recorded with your "
                "name; it counts against its rule's precision."
            ),
            button=_("Dismiss"),
            action="dismiss",
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/decide/",
                self.admin_site.admin_view(self.decide_view),
                name="liverooms_alert_decide",
            ),
            *super().get_urls(),
        ]

    def decide_view(self, request, pk):
        if not self.has_change_permission(request):
            raise PermissionDenied
        alert = get_object_or_404(Alert.objects.select_related("rule", "session__room"), pk=pk)
        change_url = reverse("admin:liverooms_alert_change", args=[alert.pk])
        if alert.status != AlertStatus.OPEN:
            self.message_user(request, _("This alert has already been decided."), messages.ERROR)
            return HttpResponseRedirect(change_url)
        form = AlertDecideForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                alert = services.alert_decide(
                    alert=alert,
                    status=form.cleaned_data["status"],
                    note=form.cleaned_data["note"],
                    actor=Actor.for_user(request.user),
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            except Conflict as exc:
                self.message_user(request, str(exc.message), messages.ERROR)
                return HttpResponseRedirect(change_url)
            else:
                self.log_change(request, alert, _decision(alert))
                self.message_user(
                    request,
                    _("Alert decided: %(status)s.") % {"status": alert.get_status_display()},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(change_url)
        return reason_page(
            self,
            request,
            template=DECIDE_TEMPLATE,
            form=form,
            objects=[alert],
            title=_("Decide the alert: %(alert)s") % {"alert": alert},
            intro=_(
                "Confirmed, the alert is kept as evidence; dismissed, it is a false alarm and "
                "counts against its rule's precision. Either way your name is recorded."
            ),
            button=_("Record the decision"),
            back_url=change_url,
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        alert = self.get_object(request, unquote(object_id))
        extra_context = {
            **(extra_context or {}),
            "can_decide": alert is not None
            and alert.status == AlertStatus.OPEN
            and self.has_change_permission(request),
        }
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(GoLiveRefusal)
class GoLiveRefusalAdmin(LargeTableAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "room_link", "reasons_said"]
    # A date filter served by the index on `at`, rather than a date hierarchy whose DISTINCT
    # over the years of every refusal reads the whole table.
    list_filter = ["at"]
    list_select_related = ["room"]
    search_fields = ["^room__title", "=room__platform_ref"]
    search_help_text = _("The beginning of a room's title, or a platform room id in full.")
    show_full_result_count = False
    fields = ["room", "at", "reasons_said", "anchors_named", "products_named", "ai_generated"]
    readonly_fields = fields

    @admin.display(description=_("live room"), ordering="room__title")
    def room_link(self, obj):
        return admin_link(obj.room)

    @admin.display(description=_("reasons"))
    def reasons_said(self, obj):
        """Each reason as the gate said it, with its code: the message for the reviewer, the
        code for what the platform's systems were answered."""
        return bullets(
            ((reason["message"], reason["code"]) for reason in obj.reasons),
            item="<li>{} <code>{}</code></li>",
            css_class="refusal-reasons",
        )

    @admin.display(description=_("anchors on air"))
    def anchors_named(self, obj):
        return self._named(Party.objects, obj.requested.get("anchors", []))

    @admin.display(description=_("products"))
    def products_named(self, obj):
        return self._named(Product.objects, obj.requested.get("products", []))

    @admin.display(description=_("AI-generated"), boolean=True)
    def ai_generated(self, obj):
        return obj.requested.get("ai_generated")

    @staticmethod
    def _named(objects, ids: list) -> str:
        """The requested ids by name; an id that named nothing (the gate's `*_unknown`) as
        itself."""
        found = objects.in_bulk([pk for pk in ids if isinstance(pk, int) and 0 < pk <= BIGINT_MAX])
        return ", ".join(
            str(found[pk]) if pk in found else _("#%(id)s (no such record)") % {"id": pk}
            for pk in ids
        )


admin.site.register_queue(
    Queue(
        key="patrol",
        title=_("Sessions on air (patrol queue)"),
        permission="liverooms.view_livesession",
        url_name="admin:liverooms_livesession_changelist",
        query="status__exact=live",
        count=lambda request: LiveSession.objects.filter(status=SessionStatus.LIVE).count(),
        order=20,
    )
)
admin.site.register_queue(
    Queue(
        key="alerts_open",
        title=_("Open monitoring alerts"),
        permission="liverooms.view_alert",
        url_name="admin:liverooms_alert_changelist",
        query="status__exact=open",
        count=lambda request: Alert.objects.filter(status=AlertStatus.OPEN).count(),
        order=21,
    )
)


def _overdue_high_risk(request) -> int:
    cutoff = timezone.now() - timedelta(minutes=settings.PATROL_HIGH_RISK_MINUTES)
    return (
        LiveSession.objects.filter(
            status=SessionStatus.LIVE, room__risk_grade=RiskGrade.HIGH, started_at__lte=cutoff
        )
        .filter(inspections__isnull=True)
        .count()
    )


admin.site.register_queue(
    Queue(
        key="patrol_overdue",
        title=_("High-risk sessions not inspected in time"),
        permission="liverooms.view_inspection",
        url_name="admin:liverooms_livesession_coverage",
        query="",
        count=_overdue_high_risk,
        order=19,
    )
)


class RuleForm(forms.ModelForm):
    # The signals a rule reads, ticked by their names (口播, 评论, 商品标题) rather than typed as a
    # JSON list of codes. None for a session rule (the AI label), which reads the session.
    signal_kinds = forms.MultipleChoiceField(
        label=MonitoringRule._meta.get_field("signal_kinds").verbose_name,
        choices=SignalKind.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = MonitoringRule
        fields = [
            "code",
            "category",
            "severity",
            "kind",
            "keywords",
            "aliases",
            "match_pinyin",
            "pattern",
            "exclude",
            "signal_kinds",
            "legal_basis",
            "description",
        ]

    def clean_code(self):
        code = self.cleaned_data["code"]
        # The form has no version: the model's unique (code, version) is not checked for it and
        # a second rule of a code ended in an IntegrityError. Another version of a rule is the
        # "new draft version" action's, which copies the rule and numbers it.
        if code != self.instance.code and MonitoringRule.objects.filter(code=code).exists():
            raise ValidationError(
                _(
                    "A rule with this code exists already. To change it, select it in the "
                    "list and start a new draft version."
                ),
                code="unique",
            )
        return code

    def _list_or_empty(self, name):
        # A list box left blank means none, not JSON null (which the engine refuses).
        value = self.cleaned_data[name]
        return [] if value is None else value

    def clean_keywords(self):
        return self._list_or_empty("keywords")

    def clean_aliases(self):
        return self._list_or_empty("aliases")

    def clean_exclude(self):
        return self._list_or_empty("exclude")

    def clean_signal_kinds(self):
        chosen = set(self.cleaned_data["signal_kinds"])
        return [kind for kind in SignalKind.values if kind in chosen]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            # A field is missing or malformed and its own error says so; the engine's check needs
            # every field (an absent keyword list crashed it) and would only add noise.
            return cleaned
        candidate = MonitoringRule(**{k: v for k, v in cleaned.items() if k in self.Meta.fields})
        candidate.version = self.instance.version or 1
        # The engine's own check (services.rule_validate's), called here for the field it names:
        # a keyword list that is not a list is an error beside the keywords, not above the form.
        try:
            to_engine_rule(candidate)
        except RuleError as exc:
            self.add_error(exc.field if exc.field in self.fields else None, str(exc))
        return cleaned


class TryForm(forms.Form):
    text = forms.CharField(label=_("sample text"), widget=forms.Textarea(attrs={"rows": 4}))
    signal_kind = forms.ChoiceField(label=_("as"), choices=SignalKind.choices)


# How a sample matched, by the engine's name for it (AlertDraft.finding).
FINDINGS = {
    "term": _("keyword or alias, as written"),
    "homophone": _("homophone (same pinyin)"),
    "pinyin": _("partly spelled in pinyin"),
    "pattern": _("regular expression"),
    "discount_without_reference": _("discount claimed without a reference price"),
    "reference_not_above_price": _("reference price not above the price"),
}


# Trying a rule on sample text reads it: whoever may see the rules.
TRY_RULES = "liverooms.view_monitoringrule"


@admin.register(MonitoringRule)
class MonitoringRuleAdmin(admin.ModelAdmin):
    form = RuleForm
    list_display = [
        "code",
        "version",
        "status",
        "category_named",
        "severity",
        "kind",
        "confirmed",
        "dismissed",
        "precision",
        "published_at",
        "try_link",
    ]
    list_filter = ["status", OwnCategoryFilter, "severity", "kind"]
    search_fields = ["code", "description", "keywords"]
    actions = ["publish", "new_version", "withdraw"]
    show_full_result_count = False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                confirmed_count=Count("alerts", filter=Q(alerts__status=AlertStatus.CONFIRMED)),
                dismissed_count=Count("alerts", filter=Q(alerts__status=AlertStatus.DISMISSED)),
            )
        )

    @admin.display(description=_("category"), ordering="category")
    def category_named(self, obj):
        return RULE_CATEGORIES.get(obj.category, obj.category)

    @admin.display(description=_("confirmed"), ordering="confirmed_count")
    def confirmed(self, obj):
        return obj.confirmed_count

    @admin.display(description=_("dismissed"), ordering="dismissed_count")
    def dismissed(self, obj):
        return obj.dismissed_count

    @admin.display(description=_("precision"))
    def precision(self, obj):
        decided = obj.confirmed_count + obj.dismissed_count
        return f"{100 * obj.confirmed_count / decided:.0f}%" if decided else "—"

    @admin.display(description=_("try"))
    def try_link(self, obj):
        url = reverse("admin:liverooms_monitoringrule_try", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Try on sample text"))

    def get_list_display(self, request):
        shown = super().get_list_display(request)
        if request.user.has_perm(TRY_RULES):
            return shown
        return [name for name in shown if name != "try_link"]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_try": request.user.has_perm(TRY_RULES),
            # A rule is written, tried and published one at a time.
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def add_view(self, request, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "show_save_and_add_another": False}
        return super().add_view(request, form_url, extra_context)

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        # Published and retired versions are records; a change is a new draft version.
        return allowed and (obj is None or obj.status == RuleStatus.DRAFT)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Publish the selected drafts"), permissions=["change"])
    def publish(self, request, queryset):
        actor, done = Actor.for_user(request.user), 0
        for rule in queryset.filter(status=RuleStatus.DRAFT):
            try:
                published = services.rule_publish(rule=rule, actor=actor)
                self.log_change(request, rule, published.get_status_display())
                done += 1
            except ValidationError as exc:
                self.message_user(request, f"{rule}: {' '.join(exc.messages)}", messages.ERROR)
            except Conflict as exc:
                self.message_user(request, f"{rule}: {exc}", messages.ERROR)
        self.message_user(
            request,
            ngettext("%d rule published.", "%d rules published.", done) % done,
            messages.SUCCESS,
        )

    @admin.action(
        description=_("Withdraw the selected rules in force (no version in their place)"),
        permissions=["change"],
    )
    def withdraw(self, request, queryset):
        actor, done = Actor.for_user(request.user), 0
        for rule in queryset:
            try:
                services.rule_withdraw(rule=rule, actor=actor)
            except Conflict as exc:
                self.message_user(request, f"{rule}: {exc}", messages.ERROR)
                continue
            rule.refresh_from_db(fields=["status"])
            self.log_change(request, rule, rule.get_status_display())
            done += 1
        self.message_user(
            request,
            ngettext("%d rule withdrawn.", "%d rules withdrawn.", done) % done,
            messages.SUCCESS,
        )

    @admin.action(description=_("Start a new draft version"), permissions=["add"])
    def new_version(self, request, queryset):
        for rule in queryset:
            draft = services.rule_new_version(rule=rule, actor=Actor.for_user(request.user))
            self.log_addition(request, draft, [{"added": {}}])
        self.message_user(request, _("Drafts created."), messages.SUCCESS)

    def get_urls(self):
        return [
            path(
                "<int:pk>/try/",
                self.admin_site.admin_view(self.try_view),
                name="liverooms_monitoringrule_try",
            ),
            *super().get_urls(),
        ]

    def try_view(self, request, pk):
        if not request.user.has_perm(TRY_RULES):
            raise PermissionDenied
        rule = get_object_or_404(MonitoringRule, pk=pk)
        form = TryForm(request.POST or None)
        hits = None
        if request.method == "POST" and form.is_valid():
            try:
                hits = services.rule_try(
                    rule=rule,
                    text=form.cleaned_data["text"],
                    signal_kind=form.cleaned_data["signal_kind"],
                )
            except ValidationError as exc:
                form.add_error(None, exc.messages[0])
        context = {
            **self.admin_site.each_context(request),
            "title": _("Try %(rule)s on sample text") % {"rule": rule},
            "rule": rule,
            "form": form,
            "hits": hits,
            "rows": [(hit, FINDINGS.get(hit.finding, hit.finding)) for hit in hits or ()],
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/liverooms/try_rule.html", context)
