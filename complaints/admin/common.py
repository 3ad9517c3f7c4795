"""Pieces the complaint admin pages share: who may handle cases, money display, service errors
on forms, read-only inlines and the reason page."""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

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


def yuan(fen: int | None) -> str:
    return "—" if fen is None else f"¥{Decimal(fen) / 100:,.2f}"


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
