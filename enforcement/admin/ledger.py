"""The deposit ledger in the admin: accounts with their entries (never edited or deleted -- a
correction is a new entry), top-ups and compensation recorded through the ledger service, the
requirements per category, and the nightly reconciliations."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from accounts.actors import Actor
from accounts.admin_forms import add_service_errors
from accounts.admin_paging import LargeTableAdminMixin
from accounts.admin_site import Queue
from accounts.models import Party
from config.api.lookups import storable_id
from config.errors import Conflict
from enforcement import services
from enforcement.admin.common import (
    CaseCodeField,
    ObjectAction,
    ObjectActionsMixin,
    ReadOnlyInline,
    YuanField,
    admin_link,
    fen,
    yuan,
)
from enforcement.models import DepositAccount, DepositRequirement, LedgerEntry, Reconciliation

RECORD = "enforcement.record_deposit"


class LedgerEntryInline(ReadOnlyInline):
    model = LedgerEntry
    fields = [
        "at",
        "kind",
        "amount",
        "balance_after",
        "shortfall",
        "reference",
        "measure_link",
        "case_link",
        "actor_label",
    ]
    readonly_fields = fields
    ordering = ["id"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("measure__party", "case")

    @admin.display(description=_("amount"))
    def amount(self, obj):
        return yuan(obj.amount_fen)

    @admin.display(description=_("balance after"))
    def balance_after(self, obj):
        return yuan(obj.balance_after_fen)

    @admin.display(description=_("shortfall"))
    def shortfall(self, obj):
        return yuan(obj.shortfall_fen) if obj.shortfall_fen else ""

    @admin.display(description=_("measure"))
    def measure_link(self, obj):
        return admin_link(obj.measure) if obj.measure_id else ""

    @admin.display(description=_("complaint"))
    def case_link(self, obj):
        return admin_link(obj.case) if obj.case_id else ""


class TopUpForm(forms.Form):
    # Found by searching the registry: a party may top up before it has an account.
    party = forms.ModelChoiceField(
        label=_("party"),
        queryset=Party.objects.all(),
        widget=AutocompleteSelect(DepositAccount._meta.get_field("party"), admin.site),
    )
    amount_yuan = YuanField(label=_("amount (yuan)"))
    reference = forms.CharField(
        label=_("payment reference"),
        max_length=100,
        required=False,
        help_text=_("The payment system's reference: the same payment is recorded once."),
    )


class CompensationForm(forms.Form):
    case = CaseCodeField(label=_("complaint (tracking code)"), max_length=16)
    amount_yuan = YuanField(label=_("amount (yuan)"))

    def __init__(self, data=None, files=None, *, obj: DepositAccount, **kwargs):
        super().__init__(data, files, **kwargs)
        self.account = obj

    def clean_case(self):
        case = self.cleaned_data["case"]
        if self.account.party_id not in (case.merchant_id, case.anchor_id):
            raise ValidationError(_("The complaint is not about this party."))
        return case


def _run_compensation(account, form, actor):
    posted = services.pay_compensation(
        party=account.party,
        case=form.cleaned_data["case"],
        amount_fen=fen(form.cleaned_data["amount_yuan"]),
        actor=actor,
    )
    if not posted.created:
        return _("This complaint's compensation was paid already, on %(at)s; nothing changed.") % {
            "at": timezone.localtime(posted.entry.at).strftime("%Y-%m-%d %H:%M")
        }
    return _("Compensation of %(amount)s paid; the balance is %(balance)s.") % {
        "amount": yuan(-posted.entry.amount_fen),
        "balance": yuan(posted.entry.balance_after_fen),
    }


COMPENSATION = ObjectAction(
    "compensation",
    _("Pay compensation for a complaint"),
    _("Pay"),
    CompensationForm,
    _run_compensation,
    (RECORD,),
    renames={"amount_fen": "amount_yuan"},
    takes_object=True,
)


class ShortfallFilter(admin.SimpleListFilter):
    title = _("shortfall")
    parameter_name = "owes"

    def lookups(self, request, model_admin):
        return [("yes", _("Owes a shortfall"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(shortfall_fen__gt=0)
        return queryset


@admin.register(DepositAccount)
class DepositAccountAdmin(LargeTableAdminMixin, ObjectActionsMixin, admin.ModelAdmin):
    list_display = ["party", "balance", "shortfall", "updated_at"]
    list_filter = [ShortfallFilter]
    list_select_related = ["party"]
    search_fields = ["^party__name", "=party__platform_ref"]
    show_full_result_count = False
    list_per_page = 50
    inlines = [LedgerEntryInline]
    object_actions = (COMPENSATION,)
    fields = ["party_link", "balance", "shortfall", "created_at", "updated_at"]
    readonly_fields = fields

    # Accounts open with their first entry; balances move only through the ledger service.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("party"))
    def party_link(self, obj):
        return admin_link(obj.party)

    @admin.display(description=_("balance"), ordering="balance_fen")
    def balance(self, obj):
        return yuan(obj.balance_fen)

    @admin.display(description=_("shortfall owed"), ordering="shortfall_fen")
    def shortfall(self, obj):
        return yuan(obj.shortfall_fen)

    def object_links(self, request, obj):
        links = super().object_links(request, obj)
        if request.user.has_perm(RECORD):
            links.append({"url": _top_up_url(obj.party_id), "title": _("Record a top-up")})
        return links

    def changelist_view(self, request, extra_context=None):
        links = []
        if request.user.has_perm(RECORD):
            links.append({"url": _top_up_url(), "title": _("Record a top-up")})
        extra_context = {**(extra_context or {}), "changelist_links": links}
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        return [
            path(
                "top-up/",
                self.admin_site.admin_view(self.top_up_view),
                name="enforcement_depositaccount_top_up",
            ),
            *super().get_urls(),
        ]

    def top_up_view(self, request):
        """Money the party paid in, as the payment system reports it (before the party has an
        account, too: the ledger opens one)."""
        if not request.user.has_perm(RECORD):
            raise PermissionDenied
        party = request.GET.get("party", "")
        initial = {"party": party} if storable_id(party) is not None else None
        form = TopUpForm(request.POST if request.method == "POST" else None, initial=initial)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                posted = services.top_up(
                    party=data["party"],
                    amount_fen=fen(data["amount_yuan"]),
                    reference=data["reference"],
                    actor=Actor.for_user(request.user),
                )
            except ValidationError as exc:
                add_service_errors(form, exc, {"amount_fen": "amount_yuan"})
            except Conflict as exc:
                form.add_error(None, exc.message)
            except IntegrityError:
                # The same payment reference posted by another request at the same moment.
                form.add_error(
                    None,
                    _(
                        "This payment reference was being recorded by someone else at the same "
                        "moment; look at the ledger before recording it again."
                    ),
                )
            else:
                if posted.created:
                    self.message_user(
                        request,
                        _("Top-up recorded; the balance is %(balance)s.")
                        % {"balance": yuan(posted.entry.balance_after_fen)},
                        messages.SUCCESS,
                    )
                else:
                    self.message_user(
                        request,
                        _("This payment was recorded already; nothing changed."),
                        messages.WARNING,
                    )
                return HttpResponseRedirect(self.change_url(posted.entry.account))
        self.report_form_errors(request, form)
        context = {
            "title": _("Record a deposit top-up"),
            "action": {"title": "", "button": _("Record"), "form": form, "url": request.path},
            "back_url": reverse("admin:enforcement_depositaccount_changelist"),
        }
        return self.form_page(request, "admin/enforcement/action.html", form, context)


def _top_up_url(party_id: int | None = None) -> str:
    url = reverse("admin:enforcement_depositaccount_top_up")
    return f"{url}?party={party_id}" if party_id else url


@admin.register(DepositRequirement)
class DepositRequirementAdmin(admin.ModelAdmin):
    """The platform's commercial policy, read by the go-live gate (within the minute:
    enforcement.checks keeps it that long)."""

    list_display = ["category", "amount", "updated_at", "updated_by"]
    fields = ["category", "amount_fen", "updated_at", "updated_by"]
    readonly_fields = ["updated_at", "updated_by"]

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("required deposit"), ordering="amount_fen")
    def amount(self, obj):
        return yuan(obj.amount_fen)

    def save_model(self, request, obj, form, change):
        obj.updated_by = Actor.for_user(request.user).label
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)


class DifferencesFilter(admin.SimpleListFilter):
    title = _("differences")
    parameter_name = "differences"

    def lookups(self, request, model_admin):
        return [
            ("latest", _("The latest run, if it found any")),
            ("any", _("Every run that found any")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "latest":
            latest = latest_run()
            if latest is None or not latest.mismatches:
                return queryset.none()
            return queryset.filter(pk=latest.pk)
        if self.value() == "any":
            return queryset.exclude(mismatches=[])
        return queryset


def latest_run() -> Reconciliation | None:
    return Reconciliation.objects.order_by("-at", "-id").first()


@admin.register(Reconciliation)
class ReconciliationAdmin(admin.ModelAdmin):
    list_display = ["at", "accounts_checked", "difference_count"]
    list_filter = [DifferencesFilter]
    fields = ["at", "accounts_checked", "difference_table"]
    readonly_fields = fields
    show_full_result_count = False

    # Written by the nightly task only.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("differences"))
    def difference_count(self, obj):
        return len(obj.mismatches)

    @admin.display(description=_("accounts whose balance differs from their entries"))
    def difference_table(self, obj):
        if not obj.mismatches:
            return _("None: every balance equals the sum of its entries.")
        return format_html(
            "<table><tr><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>",
            _("account"),
            _("balance"),
            _("sum of entries"),
            format_html_join(
                "",
                '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td></tr>',
                (
                    (
                        reverse(
                            "admin:enforcement_depositaccount_change", args=[row["account_id"]]
                        ),
                        row["account_id"],
                        yuan(row["balance_fen"]),
                        yuan(row["entries_fen"]),
                    )
                    for row in obj.mismatches
                ),
            ),
        )


def _difference_count(request) -> int:
    latest = latest_run()
    return len(latest.mismatches) if latest else 0


admin.site.register_queue(
    Queue(
        key="ledger_differences",
        title=_("Deposit ledger differences (latest reconciliation)"),
        permission="enforcement.view_reconciliation",
        url_name="admin:enforcement_reconciliation_changelist",
        query="differences=latest",
        count=_difference_count,
        order=45,
    )
)
