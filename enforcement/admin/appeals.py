"""Appeals in the admin: the queue of pending appeals, oldest first, and the decision -- by a lead
who took no part in the measure (the service refuses anyone else, and the page says why)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from accounts.admin_paging import LargeTableAdminMixin
from accounts.admin_site import Queue
from enforcement import services
from enforcement.admin.common import ObjectAction, ObjectActionsMixin, admin_link
from enforcement.models import Appeal, AppealStatus
from enforcement.services import statements


class DecideForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("decision"),
        choices=[
            ("uphold", _("Uphold: the measure stands")),
            ("reverse", _("Reverse: undo the measure and tell everyone who was told")),
        ],
        widget=forms.RadioSelect,
    )
    # Not required here: the service says why an empty reason is refused, in one place.
    reason = forms.CharField(
        label=_("reasons for the decision (sent to the party)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "class": "vLargeTextField"}),
    )


def _run_decide(appeal, form, actor):
    appeal = services.appeal_decide(
        appeal=appeal,
        reverse=form.cleaned_data["decision"] == "reverse",
        reason=form.cleaned_data["reason"],
        actor=actor,
    )
    return _("Decided: %(status)s; the party is told.") % {"status": appeal.get_status_display()}


DECIDE = ObjectAction(
    "decide",
    _("Decide the appeal"),
    _("Record the decision"),
    DecideForm,
    _run_decide,
    ("enforcement.decide_appeal",),
    lambda appeal: appeal.status == AppealStatus.PENDING,
)


@admin.register(Appeal)
class AppealAdmin(LargeTableAdminMixin, ObjectActionsMixin, admin.ModelAdmin):
    list_display = ["__str__", "status", "channel", "filed_at", "decided_at"]
    list_filter = ["status", "channel"]
    list_select_related = ["measure__party"]
    search_fields = ["^measure__party__name", "=measure__party__platform_ref"]
    show_full_result_count = False
    list_per_page = 50
    object_actions = (DECIDE,)
    fields = [
        "measure_link",
        "measure_status",
        "appeal_deadline",
        "channel",
        "grounds",
        "contact",
        "filed_at",
        "filed_by",
        "status",
        "decided_at",
        "decided_by",
        "decision_reason",
    ]
    readonly_fields = fields

    # Appeals are filed by the party (statement page, API); decided only through the action.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("measure__party", "decided_by")

    def get_ordering(self, request):
        if request.GET.get("status__exact") == AppealStatus.PENDING:
            return ["filed_at", "id"]  # the queue: first filed, first decided
        return ["-filed_at", "-id"]

    @admin.display(description=_("measure"))
    def measure_link(self, obj):
        return admin_link(obj.measure)

    @admin.display(description=_("measure's status"))
    def measure_status(self, obj):
        return obj.measure.get_status_display()

    @admin.display(description=_("appeal window closes"))
    def appeal_deadline(self, obj):
        return statements.appeal_deadline(obj.measure) or "—"


admin.site.register_queue(
    Queue(
        key="appeals_pending",
        title=_("Appeals to decide"),
        permission="enforcement.decide_appeal",
        url_name="admin:enforcement_appeal_changelist",
        query="status__exact=pending",
        # appeal_queue_idx: the partial index on pending rows.
        count=lambda request: Appeal.objects.filter(status=AppealStatus.PENDING).count(),
        order=43,
    )
)
