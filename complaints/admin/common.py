"""Pieces the complaint admin pages share: who may handle cases, money display, service errors
on forms, read-only inlines and the reason page."""

from __future__ import annotations

import re

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.actors import Actor
from accounts.admin_forms import add_service_errors, reason_page

HANDLE = "complaints.change_case"
# A complaint (C) or report (R) and nine characters (services/contacts.py, _CODE_ALPHABET).
TRACKING_CODE = re.compile(r"[CR][2-9A-Z]{9}")


def handlers():
    """Active users who may handle cases: the people a case can be assigned to."""
    perm = Permission.objects.filter(content_type__app_label="complaints", codename="change_case")
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(
            Q(is_superuser=True) | Q(groups__permissions__in=perm) | Q(user_permissions__in=perm)
        )
        .distinct()
        .order_by("username")
    )


# --- Case page: read-only inlines ---------------------------------------------------------------


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("reason (recorded)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "vLargeTextField"}),
    )


def reason_action(model_admin, request, queryset, *, label, apply, done, **page):
    """A change-list action that asks for a note first (`reason_page`, whose `page` arguments
    come through). Once confirmed, `apply(obj, note, actor)` runs for each selected object in one
    transaction and returns how many things it did; `done(count)` is the success message. A
    service's refusal undoes the whole selection and is shown on the form."""
    form = ReasonForm(request.POST if "apply" in request.POST else None)
    form.fields["reason"].label = label
    if form.is_bound and form.is_valid():
        actor, note = Actor.for_user(request.user), form.cleaned_data["reason"]
        try:
            with transaction.atomic():
                count = sum(apply(obj, note, actor) for obj in queryset)
        except ValidationError as exc:
            add_service_errors(form, exc, {"note": "reason"})
            model_admin.message_user(request, " ".join(exc.messages), messages.ERROR)
        else:
            model_admin.message_user(request, done(count), messages.SUCCESS)
            return None
    return reason_page(model_admin, request, objects=list(queryset), form=form, **page)
