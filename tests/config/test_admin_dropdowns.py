"""No page of the workbench lists every row of a growing table in a drop-down.

A `<select>` over parties, users, cases or sessions renders one `<option>` per row: at a million
parties the page never arrives. Such fields are searched (`autocomplete_fields`), typed
(`raw_id_fields`) or read-only where a service sets them. Small catalogues may stay drop-downs;
each is listed below with the reason it stays small. The walk covers every ModelAdmin registered
on the workbench, its add and change pages, their inlines and the action forms those pages show.
"""

from __future__ import annotations

import io

import pytest
from django import forms
from django.contrib import admin
from django.contrib.admin.helpers import AdminForm, InlineAdminFormSet
from django.contrib.admin.utils import quote
from django.contrib.admin.widgets import (
    AutocompleteSelect,
    ForeignKeyRawIdWidget,
    ManyToManyRawIdWidget,
    RelatedFieldWidgetWrapper,
)
from django.core.management import call_command
from django.test import Client

from accounts.models import Party
from enforcement.models import ViolationType
from tests.accounts.test_roles import verified_client
from tests.config.admin_rows import BUILDERS
from tests.factories import UserFactory

# Targets that may be offered as a drop-down: catalogues that stay small whatever the traffic.
BOUNDED_TARGETS = {
    "auth.Group": "the roles, declared in code (accounts/roles.py)",
    "auth.Permission": "Django's catalogue: four per model",
    "contenttypes.ContentType": "one per model",
    "enforcement.ViolationType": "the catalogue of violation types, edited by hand",
    "enforcement.Authority": "the authorities the platform reports to, a few dozen",
    "credit.RuleSet": "the published scoring rule sets, a few versions a year",
    "credit.Peer": "the platforms of the credit-sharing consortium",
    "liverooms.MonitoringRule": "the monitoring rules, written by hand",
    "complaints.ReplyTemplate": "the team's standard replies",
    "accounts.WebhookEndpoint": "endpoints registered by operators on a terminal",
}
# Fields over a growing table whose choices a form narrows to a bounded few.
BOUNDED_FIELDS = {
    "AssignForm.assignee": "the people who may handle cases (the team), not every user",
    "ReviewerCapacityForm.user": "the people who may handle cases (the team), not every user",
    "EvidenceLinkForm.inspection": "the inspections of the violation's own session, a handful",
}

REGISTERED = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)
SEARCHED_OR_TYPED = (AutocompleteSelect, ForeignKeyRawIdWidget, ManyToManyRawIdWidget)


def unbounded_choices(form: forms.BaseForm) -> list[str]:
    """The fields of `form` that would render every row of a growing table as a choice."""
    found = []
    for name, field in form.fields.items():
        if not isinstance(field, forms.ModelChoiceField):
            continue
        widget = field.widget
        if isinstance(widget, RelatedFieldWidgetWrapper):
            widget = widget.widget
        if isinstance(widget, SEARCHED_OR_TYPED) or widget.is_hidden:
            continue
        if not isinstance(widget, forms.widgets.ChoiceWidget):
            continue
        label = field.queryset.model._meta.label
        key = f"{type(form).__name__}.{name}"
        if label in BOUNDED_TARGETS or key in BOUNDED_FIELDS:
            continue
        found.append(f"{key} lists every {label}")
    return found


def forms_on_page(value, depth: int = 0):
    """Every form the page's context holds: the admin form, inline forms, action forms."""
    if depth > 4:
        return
    if isinstance(value, AdminForm):
        yield value.form
    elif isinstance(value, InlineAdminFormSet):
        yield from forms_on_page(value.formset, depth + 1)
    elif isinstance(value, forms.BaseForm):
        yield value
    elif isinstance(value, forms.BaseFormSet):
        yield from value.forms
        yield value.empty_form
    elif isinstance(value, dict):
        for item in value.values():
            yield from forms_on_page(item, depth + 1)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from forms_on_page(item, depth + 1)


def page_problems(response) -> list[str]:
    problems, seen = [], set()
    for context in response.context:
        for form in forms_on_page(context.flatten()):
            if id(form) not in seen:
                seen.add(id(form))
                problems += unbounded_choices(form)
    return problems


@pytest.fixture
def superuser(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo", stdout=io.StringIO())
    return verified_client(Client(), UserFactory(is_staff=True, is_superuser=True))


@pytest.mark.parametrize(
    ("model", "model_admin"), REGISTERED, ids=[model._meta.label for model, _ in REGISTERED]
)
def test_no_add_or_change_page_lists_a_growing_table_in_a_drop_down(superuser, model, model_admin):
    BUILDERS[model._meta.label](1)
    base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    obj = model._default_manager.order_by("pk").first()
    pages = {"change": superuser.get(f"{base}{quote(obj.pk)}/change/")}
    add = superuser.get(f"{base}add/")
    if add.status_code != 403:  # records only services write have no add page
        pages["add"] = add
    for page, response in pages.items():
        assert response.status_code == 200, (page, response)
        assert page_problems(response) == [], page


class _ThrowawayForm(forms.Form):
    everyone = forms.ModelChoiceField(queryset=Party.objects.all())
    hidden = forms.ModelChoiceField(queryset=Party.objects.all(), widget=forms.HiddenInput)
    catalogue = forms.ModelChoiceField(queryset=ViolationType.objects.all())
    as_checkboxes = forms.ModelMultipleChoiceField(
        queryset=Party.objects.all(), widget=forms.CheckboxSelectMultiple
    )


def test_the_checker_catches_a_drop_down_of_every_party_and_lets_a_catalogue_pass():
    assert unbounded_choices(_ThrowawayForm()) == [
        "_ThrowawayForm.everyone lists every accounts.Party",
        "_ThrowawayForm.as_checkboxes lists every accounts.Party",
    ]


def test_the_checker_lets_a_searched_party_field_pass():
    from complaints.models import Case

    class Searched(forms.Form):
        merchant = forms.ModelChoiceField(
            queryset=Party.objects.all(),
            widget=AutocompleteSelect(Case._meta.get_field("merchant"), admin.site),
        )

    assert unbounded_choices(Searched()) == []
