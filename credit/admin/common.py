"""What the credit workbench's pages share: read-only admins for records that only services
write, a filter typed as a number, a service's errors on a form, and the page that asks for one
small form (the paginator for the tables that run to millions of rows is accounts.admin_paging).

credit sits below liverooms, complaints and enforcement, so it cannot borrow their admin helpers;
these are the few it needs.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from accounts.admin_forms import admin_link
from accounts.admin_paging import LargeTableAdminMixin
from config.api.lookups import storable_id
from credit.scoring import rule_set_in_force


class ReadOnlyAdmin(LargeTableAdminMixin, admin.ModelAdmin):
    """Events, scores, history, shared records: shown, never added, edited or deleted by hand --
    not even by a superuser, since each is the output of a service or an append-only record.
    Most run to millions of rows, so their lists are counted up to a bound."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class NumberFilter(admin.SimpleListFilter):
    """A filter typed as a number (a party's id) rather than picked from a list of every value:
    listing the values of a 10-million-row column would cost more than the page."""

    template = "admin/credit/number_filter.html"
    field_name = ""

    def lookups(self, request, model_admin):
        # One entry so that the filter is shown; the template draws an input instead.
        return [("", "")]

    def choices(self, changelist):
        yield {
            "value": self.value() or "",
            "parameter_name": self.parameter_name,
            # The other filters in force ride along as hidden inputs.
            "hidden": [
                (name, value)
                for name, values in changelist.filter_params.items()
                if name != self.parameter_name
                for value in values
            ],
        }

    def queryset(self, request, queryset):
        value = (self.value() or "").strip()
        if not value:
            return queryset
        if (pk := storable_id(value)) is None:
            return queryset.none()
        return queryset.filter(**{self.field_name: pk})


class GradeFilter(admin.SimpleListFilter):
    """The grades of the rule set in force, rather than a DISTINCT over every score."""

    title = _("grade")
    parameter_name = "grade"

    def lookups(self, request, model_admin):
        _row, rules = rule_set_in_force()
        return [(name, name) for name, _floor in rules.grades]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(grade=self.value())
        return queryset


class PartyIdFilter(NumberFilter):
    title = _("party id")
    parameter_name = "party"
    field_name = "party_id"


def party_link(party) -> str:
    if party is None:
        return "—"
    return admin_link(party, f"{party.name} ({party.get_kind_display()} #{party.pk})")


def form_page(
    model_admin,
    request,
    *,
    title,
    form: forms.Form | None,
    button,
    back_url: str,
    template: str = "admin/credit/form_page.html",
    **context,
) -> TemplateResponse:
    """A page with one form posting to itself, in the workbench's frame."""
    media = model_admin.media + (form.media if form is not None else forms.Media())
    return TemplateResponse(
        request,
        template,
        {
            **model_admin.admin_site.each_context(request),
            "opts": model_admin.model._meta,
            "title": title,
            "form": form,
            "button": button,
            "back_url": back_url,
            "media": media,
            **context,
        },
    )
