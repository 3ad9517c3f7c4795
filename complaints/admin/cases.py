"""Cases in the admin: the queues, the change list by due date and the read-only case page with
its actions."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db.models import F, Q
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache

from accounts.actors import Actor
from accounts.admin import parties_matching
from accounts.admin_forms import add_service_errors, yuan
from accounts.admin_paging import LargeTableAdminMixin
from accounts.admin_site import Queue
from complaints import services
from complaints.admin.case_actions import (
    CASE_ACTIONS,
    FIRST_ACTIONS,
    ReplyForm,
    action_form,
    run_round_robin,
)
from complaints.admin.common import (
    HANDLE,
    TRACKING_CODE,
    ReadOnlyInline,
    handlers,
    reason_action,
)
from complaints.models import (
    OPEN_STATUSES,
    PAUSED_STATUSES,
    Case,
    CaseEvent,
    CaseStatus,
    Evidence,
    Notification,
)
from config.api.lookups import storable_id
from config.errors import Conflict

# --- Queues -------------------------------------------------------------------------------------

# Each queue is a function of the request giving its cases; the list filter and the index count
# use the same one. Every one is served by an index: (status, acceptance_due) for new, due and
# overdue (resolution_due is then checked on the few ACCEPTED rows), (assignee, status) for mine.
CASE_QUEUES: dict[str, tuple[str, Callable]] = {
    "overdue": (_("Overdue (escalated first)"), lambda request: services.overdue_cases()),
    "due_today": (_("Due today"), lambda request: services.due_today_cases()),
    "new": (_("New"), lambda request: Case.objects.filter(status=CaseStatus.NEW)),
    "mine": (
        _("Mine, open"),
        lambda request: Case.objects.filter(assignee=request.user, status__in=OPEN_STATUSES),
    ),
    "awaiting_consumer": (
        _("Waiting for the consumer"),
        lambda request: Case.objects.filter(status=CaseStatus.AWAITING_CONSUMER),
    ),
    # Complaints past their 45 working days of mediation, which the morning sweep decides as
    # referred to 12315 (SAMR complaint rules Art. 21(5)): for a reviewer to decide first, or to
    # see the ones the sweep left (a due date to be checked against the holiday calendar).
    "mediation_ended": (
        _("Mediation period over"),
        lambda request: services.mediation_expired_cases(),
    ),
    # A notice to the consumer still undelivered a day after its event (services.notices): to
    # be sent again, or given another way and recorded.
    "notice_undelivered": (
        _("Notice to the consumer undelivered"),
        lambda request: services.undelivered_notice_cases(),
    ),
}

# Escalated cases are the lead's: they come first, oldest escalation on top.
# A name prefix can match many parties ("上海" begins thousands of names): the search takes the
# cases of the first this many, and a longer prefix narrows it.
PARTIES_SEARCHED = 500

_ESCALATED_FIRST = F("escalated_at").asc(nulls_last=True)
QUEUE_ORDERING = {
    "overdue": [_ESCALATED_FIRST, "acceptance_due", "resolution_due", "received_at"],
    "due_today": [_ESCALATED_FIRST, "received_at"],
    # First come, first served; the id makes the order total, so that the admin adds no "-id"
    # of its own and the (status, received_at, id) index serves the page.
    "new": ["received_at", "id"],
    "mine": ["acceptance_due", "resolution_due", "received_at"],
    "awaiting_consumer": ["paused_at"],
    "mediation_ended": ["mediation_due", "id"],
    "notice_undelivered": ["received_at", "id"],
}


class QueueFilter(admin.SimpleListFilter):
    title = _("queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [(key, title) for key, (title, _cases) in CASE_QUEUES.items()]

    def queryset(self, request, queryset):
        if self.value() in CASE_QUEUES:
            _title, cases = CASE_QUEUES[self.value()]
            # The queue's conditions joined to the list's own (not `pk IN (subquery)`, which
            # PostgreSQL ran by scanning the list's order index across millions of cases).
            return queryset & cases(request)
        return queryset


class EscalatedFilter(admin.SimpleListFilter):
    title = _("escalated")
    parameter_name = "escalated"

    def lookups(self, request, model_admin):
        return [("yes", _("Escalated to a lead")), ("no", _("Not escalated"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(escalated_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(escalated_at__isnull=True)
        return queryset


class AssigneeFilter(admin.SimpleListFilter):
    """The people who may handle cases, from the team's own list -- not a DISTINCT over the
    assignee of every case ever filed."""

    title = _("assignee")
    parameter_name = "assignee"

    def lookups(self, request, model_admin):
        return [(str(user.pk), user.get_username()) for user in handlers()]

    def queryset(self, request, queryset):
        if (pk := storable_id(self.value() or "")) is not None:
            return queryset.filter(assignee_id=pk)
        return queryset


class ReporterFilter(admin.SimpleListFilter):
    """The cases of one reporter (from the reputation list); shown only while it is in use, as
    the key is a hash nobody would pick from a list."""

    title = _("reporter")
    parameter_name = "reporter"

    def lookups(self, request, model_admin):
        return [(self.value(), _("This reporter"))] if self.value() else []

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(contact_key=self.value())
        return queryset


class EvidenceInline(ReadOnlyInline):
    model = Evidence
    fields = ["preview", "size", "added_by", "added_at"]
    readonly_fields = fields

    @admin.display(description=_("image"))
    def preview(self, obj):
        url = reverse("admin:complaints_case_evidence", args=[obj.pk])
        return format_html(
            '<a href="{}" target="_blank" rel="noopener"><img src="{}" alt="{}" '
            'style="max-width:160px;max-height:120px"></a>',
            url,
            url,
            _("Evidence image %(n)s") % {"n": obj.pk},
        )

    @admin.display(description=_("size"))
    def size(self, obj):
        return f"{obj.width} × {obj.height}"


class CaseEventInline(ReadOnlyInline):
    """The whole timeline, internal notes included; `public` says what the consumer sees."""

    model = CaseEvent
    fields = [
        "at",
        "kind",
        "status",
        "public",
        "actor_label",
        "message",
        "reason",
        "data",
        "consumer_notified",
    ]
    readonly_fields = fields
    ordering = ["at", "id"]
    verbose_name_plural = _("timeline")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("notification", "case")

    @admin.display(description=_("e-mailed to the consumer"))
    def consumer_notified(self, obj):
        # When the consumer was told (a termination of mediation within 7 working days: SAMR
        # complaint rules Art. 21); "pending" while the worker or the relay still owes it.
        notification = getattr(obj, "notification", None)
        if notification is not None and notification.recipient == Notification.CONSUMER:
            return date_format(timezone.localtime(notification.sent_at), "SHORT_DATETIME_FORMAT")
        if notification is not None and notification.recipient == Notification.CONSUMER_OTHERWISE:
            when = date_format(timezone.localtime(notification.sent_at), "SHORT_DATETIME_FORMAT")
            return _("told another way (recorded %(when)s)") % {"when": when}
        if obj.notice_pending:
            return _("pending")
        if notification is None and obj.notify_consumer and not obj.case.contact_email_enc:
            return _("no e-mail address")
        return "—"


# --- Case admin ---------------------------------------------------------------------------------


@admin.register(Case)
class CaseAdmin(LargeTableAdminMixin, admin.ModelAdmin):
    list_display = [
        "tracking_code",
        "kind",
        "status",
        "parties",
        "acceptance_due_display",
        "resolution_due_display",
        "assignee",
        "duplicate_marker",
        "received_at",
    ]
    list_filter = [
        QueueFilter,
        "kind",
        "status",
        "category",
        "report_category",
        "outcome",
        AssigneeFilter,
        EscalatedFilter,
        "deadline_estimated",
        ReporterFilter,
    ]
    list_select_related = ["merchant", "anchor", "assignee", "possible_duplicate_of"]
    # Order numbers are matched whole; tracking codes and parties in get_search_results.
    search_fields = ["=order_number"]
    show_full_result_count = False
    list_per_page = 50
    actions = ["take", "assign_round_robin", "notices_send_again", "notices_told_otherwise"]
    inlines = [EvidenceInline, CaseEventInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "tracking_code",
                    "kind",
                    "status",
                    "assignee",
                    "source",
                    "platform_ref",
                    "received_at",
                    "language",
                    "escalated_at",
                ]
            },
        ),
        (
            _("Who and what it is about"),
            {
                "fields": [
                    "merchant",
                    "anchor",
                    "session",
                    "party_complaints",
                    "possible_duplicate_of",
                    "merged_into",
                ]
            },
        ),
        (
            _("What happened"),
            {
                "fields": [
                    "order_number",
                    "purchase",
                    "category",
                    "request",
                    "request_detail",
                    "report_category",
                    "stream_offset",
                    "facts",
                ]
            },
        ),
        (_("Contact"), {"fields": ["contact_name", "contact"]}),
        (
            _("Clocks (working days)"),
            {
                "fields": [
                    "acceptance_due",
                    "resolution_due",
                    "mediation_due",
                    "deadline_estimated",
                    "paused_at",
                    "accepted_at",
                    "decided_at",
                    "closed_at",
                ]
            },
        ),
        (
            _("Outcome"),
            {
                "fields": [
                    "outcome",
                    "outcome_note",
                    "refund",
                    "compensation",
                    "consumer_confirmed_at",
                    "handling_rating",
                    "handling_comment",
                ]
            },
        ),
    ]
    readonly_fields = [name for _title, options in fieldsets for name in options["fields"]]

    # Cases come from the public forms and the API; every change is an action below.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_handle_permission(self, request):
        return request.user.has_perm(HANDLE)

    def get_ordering(self, request):
        return QUEUE_ORDERING.get(request.GET.get("queue"), ["-received_at", "-id"])

    def get_search_results(self, request, queryset, search_term):
        """The order number typed whole, the tracking code, or the merchant or anchor by name,
        number or platform reference. Each is one index look-up; the parties are found first
        (at most PARTIES_SEARCHED of them) and their ids handed to the case query, so that
        PostgreSQL combines four index scans instead of reading five million cases."""
        term = search_term.strip()
        if not term:
            return queryset, False
        # As typed, in capitals or in small letters: exact values the order-number index finds
        # (iexact would wrap the column in UPPER() and read every case).
        match = Q(order_number__in={term, term.upper(), term.lower()})
        # Codes are stored in capitals: an exact match on the unique index, however it was typed
        # (iexact would wrap the column in UPPER() and scan).
        code = term.upper()
        if TRACKING_CODE.fullmatch(code):
            match |= Q(tracking_code=code)
        parties = list(
            parties_matching(term).order_by().values_list("pk", flat=True)[:PARTIES_SEARCHED]
        )
        if parties:
            match |= Q(merchant__in=parties) | Q(anchor__in=parties)
        return queryset.filter(match), False

    # --- columns and read-only fields

    @admin.display(description=_("merchant / anchor"))
    def parties(self, obj):
        names = [p.name for p in (obj.merchant, obj.anchor) if p is not None]
        return " / ".join(names) or "—"

    def _due(self, obj, day, clock):
        if day is None:
            return "—"
        text = date_format(day)
        if obj.deadline_estimated:
            # Counted past the published holiday calendar: to be checked once it is out.
            text = f"≈ {text}"
        if services.overdue_clock(obj) == clock:
            return format_html(
                '<strong class="case-overdue" style="color:var(--error-fg,#ba2121)">'
                "{} ({})</strong>",
                text,
                _("overdue"),
            )
        if obj.status in PAUSED_STATUSES:
            return format_html(
                '<span style="color:var(--body-quiet-color)">{} ({})</span>', text, _("paused")
            )
        return text

    @admin.display(description=_("acceptance due"), ordering="acceptance_due")
    def acceptance_due_display(self, obj):
        return self._due(obj, obj.acceptance_due, "acceptance")

    @admin.display(description=_("resolution due"), ordering="resolution_due")
    def resolution_due_display(self, obj):
        return self._due(obj, obj.resolution_due, "resolution")

    @admin.display(description=_("possible duplicate"))
    def duplicate_marker(self, obj):
        duplicate = obj.possible_duplicate_of
        if duplicate is None or obj.status == CaseStatus.MERGED:
            return ""
        url = reverse("admin:complaints_case_change", args=[duplicate.pk])
        return format_html(
            '<a href="{}" title="{}">⚑ {}</a>', url, _("possible duplicate of"), duplicate
        )

    @admin.display(description=_("contact (masked)"))
    def contact(self, obj):
        return services.contact_masked(obj) or "—"

    @admin.display(description=_("refund"))
    def refund(self, obj):
        return yuan(obj.refund_fen)

    @admin.display(description=_("compensation"))
    def compensation(self, obj):
        return yuan(obj.compensation_fen)

    @admin.display(description=_("complaints against these parties (30 days)"))
    def party_complaints(self, obj):
        parties = [p for p in (obj.merchant, obj.anchor) if p is not None]
        if not parties:
            return "—"
        ids = [p.pk for p in parties]
        # The risk grade counts distinct complainants, not filings (complaints.risk).
        filings, people = services.complaint_counts(ids), services.complainant_counts(ids)
        return "; ".join(
            _("%(name)s: %(n)d from %(people)d complainants")
            % {"name": p.name, "n": filings.get(p.pk, 0), "people": people.get(p.pk, 0)}
            for p in parties
        )

    # --- bulk actions on the change list

    @admin.action(description=_("Take the selected cases (assign to me)"), permissions=["handle"])
    def take(self, request, queryset):
        actor, done, skipped = Actor.for_user(request.user), 0, 0
        for case in queryset:
            try:
                services.case_assign(case=case, assignee=request.user, actor=actor)
                done += 1
            except (Conflict, ValidationError, PermissionError):
                skipped += 1
        self.message_user(
            request,
            _("%(done)d taken, %(skipped)d skipped (closed or not yours to take).")
            % {"done": done, "skipped": skipped},
            messages.SUCCESS if done else messages.WARNING,
        )

    @admin.action(description=_("Assign the selected cases by round robin"), permissions=["handle"])
    def assign_round_robin(self, request, queryset):
        actor, done, skipped = Actor.for_user(request.user), 0, 0
        for case in queryset.filter(status__in=OPEN_STATUSES):
            try:
                run_round_robin(case, None, actor)
                done += 1
            except Conflict:
                skipped += 1
        self.message_user(
            request,
            _("%(done)d assigned, %(skipped)d left unassigned (no reviewer with room).")
            % {"done": done, "skipped": skipped},
            messages.SUCCESS if done else messages.WARNING,
        )

    @admin.action(
        description=_("E-mail the undelivered notices of the selected cases again"),
        permissions=["handle"],
    )
    def notices_send_again(self, request, queryset):
        actor, done = Actor.for_user(request.user), 0
        for case in queryset:
            try:
                done += services.notice_send_again(case=case, actor=actor)
            except ValidationError:
                continue
        self.message_user(
            request,
            ngettext(
                "%(done)d notice queued to be e-mailed again.",
                "%(done)d notices queued to be e-mailed again.",
                done,
            )
            % {"done": done},
            messages.SUCCESS if done else messages.WARNING,
        )

    @admin.action(
        description=_("Record the consumer told another way, with how and when"),
        permissions=["handle"],
    )
    def notices_told_otherwise(self, request, queryset):
        return reason_action(
            self,
            request,
            queryset,
            label=_("how and when the consumer was told"),
            apply=lambda case, note, actor: services.notice_told_otherwise(
                case=case, note=note, actor=actor
            ),
            done=lambda count: (
                ngettext("%d notice recorded as given.", "%d notices recorded as given.", count)
                % count
            ),
            title=_("Record the consumer told another way"),
            intro=_(
                "For notices the e-mail did not deliver: say how and when you told the consumer "
                "what they said (a call, a text message, a letter). The notices are then not "
                "e-mailed; your note is kept on each case's timeline."
            ),
            button=_("Record"),
            action="notices_told_otherwise",
        )

    # --- the case page and its actions

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:pk>/act/<slug:slug>/",
                wrap(self.action_view),
                name="complaints_case_action",
            ),
            path(
                "evidence/<int:pk>/",
                wrap(never_cache(self.evidence_view)),
                name="complaints_case_evidence",
            ),
            *super().get_urls(),
        ]

    def offered_actions(self, request, case: Case) -> list[dict]:
        if not request.user.has_perm(HANDLE):
            return []  # auditors read the page; the forms are not for them
        return [
            {
                "slug": action.slug,
                "title": action.title,
                "button": action.button,
                "extra_buttons": action.extra_buttons,
                "form": action_form(action, case),
                "url": reverse("admin:complaints_case_action", args=[case.pk, action.slug]),
                "open": action.slug in FIRST_ACTIONS,
            }
            for action in CASE_ACTIONS.values()
            if case.status in action.statuses
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        case = self.get_object(request, unquote(object_id))
        if case is not None:
            extra_context = {
                **(extra_context or {}),
                "case_actions": self.offered_actions(request, case),
                # Later filings that found this case as their possible duplicate.
                "duplicates_of_this": Case.objects.filter(possible_duplicate_of=case).exclude(
                    status=CaseStatus.MERGED
                ),
                "overdue_clock": services.overdue_clock(case),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def render_change_form(self, request, context, *args, **kwargs):
        # The link form's autocomplete widgets bring their scripts.
        for action in context.get("case_actions", []):
            context["media"] = context["media"] + action["form"].media
        return super().render_change_form(request, context, *args, **kwargs)

    def action_view(self, request, pk, slug):
        action = CASE_ACTIONS.get(slug)
        if action is None:
            raise Http404
        if not request.user.has_perm(HANDLE):
            raise PermissionDenied
        case = get_object_or_404(Case.objects.select_related("possible_duplicate_of"), pk=pk)
        change_url = reverse("admin:complaints_case_change", args=[case.pk])
        form = action_form(action, case, request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            if slug == "reply" and "_load" in request.POST:
                form = self._reply_with_template(form, case)
            else:
                try:
                    done = action.run(case, form, Actor.for_user(request.user))
                except ValidationError as exc:
                    add_service_errors(form, exc, action.renames)
                except (Conflict, PermissionError) as exc:
                    # Someone else moved the case on, or the role does not allow it: nothing
                    # in the form to correct, so back to the case with the reason.
                    message = exc.message if isinstance(exc, Conflict) else str(exc)
                    self.message_user(request, str(message), messages.ERROR)
                    return HttpResponseRedirect(change_url)
                else:
                    self.message_user(request, str(done), messages.SUCCESS)
                    return HttpResponseRedirect(change_url)
        if form.is_bound and form.errors:
            # Refused by the form or by the service: the page shows the form again as typed.
            texts = [str(text) for errors in form.errors.values() for text in errors]
            self.message_user(
                request,
                _("Nothing was changed: %(errors)s") % {"errors": " ".join(texts)},
                messages.ERROR,
            )
        context = {
            **self.admin_site.each_context(request),
            "title": _("%(action)s: %(case)s") % {"action": action.title, "case": case},
            "case": case,
            "action": {
                "slug": action.slug,
                "title": action.title,
                "button": action.button,
                "extra_buttons": action.extra_buttons,
                "form": form,
                "url": request.path,
                "open": True,
            },
            "media": self.media + form.media,
            "opts": self.model._meta,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/complaints/case/action.html", context)

    def _reply_with_template(self, form: ReplyForm, case: Case) -> ReplyForm:
        """Put the standard reply's text, in the consumer's language, in the box to edit."""
        template = form.cleaned_data["template"]
        data = form.data.copy()
        if template is not None:
            data["text"] = template.body_for(case.language)
        return action_form(CASE_ACTIONS["reply"], case, data)

    def evidence_view(self, request, pk):
        """Evidence is never served from a public URL: only here, to those who may see it."""
        if not request.user.has_perm("complaints.view_evidence"):
            raise PermissionDenied
        evidence = get_object_or_404(Evidence, pk=pk)
        try:
            handle = default_storage.open(evidence.file, "rb")
        except FileNotFoundError:
            raise Http404 from None
        response = FileResponse(handle, content_type=evidence.content_type)
        response["Content-Disposition"] = f'inline; filename="evidence-{evidence.pk}"'
        response["Cache-Control"] = "private, no-store"
        return response


def _case_queue(key: str, title, permission: str, order: int) -> Queue:
    _label, cases = CASE_QUEUES[key]
    return Queue(
        key=f"cases_{key}",
        title=title,
        permission=permission,
        url_name="admin:complaints_case_changelist",
        query=f"queue={key}",
        count=lambda request: cases(request).count(),
        order=order,
    )


for _queue in (
    _case_queue(
        "overdue", _("Complaints and reports overdue (escalated first)"), "complaints.view_case", 30
    ),
    _case_queue("due_today", _("Complaints and reports due today"), "complaints.view_case", 31),
    _case_queue("new", _("New complaints and reports"), "complaints.view_case", 32),
    # Only people who handle cases have cases of their own.
    _case_queue("mine", _("My open complaints and reports"), HANDLE, 33),
    _case_queue(
        "awaiting_consumer", _("Cases waiting for the consumer"), "complaints.view_case", 34
    ),
    _case_queue(
        "notice_undelivered",
        _("Notices to consumers undelivered for a day or more"),
        "complaints.view_case",
        # Before the reporters flagged (35, sorted by key on a tie): with the other case queues.
        35,
    ),
):
    admin.site.register_queue(_queue)
