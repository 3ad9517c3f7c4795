"""What every app's admin pages share: a service's refusal shown on the fields it names, the
page that asks for a reason before an action, the date picker, amounts in yuan, links to other
records and lists in words."""

from decimal import Decimal

from django import forms
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join


def admin_link(obj, label=None) -> str:
    """A link to the object's page in the workbench."""
    if obj is None:
        return "—"
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label if label is not None else obj)


def bullets(items, item: str = "<li>{}: {}</li>", css_class: str = "") -> str:
    """A read-only field's list: `items` (tuples) each through the `item` template, escaped."""
    return format_html('<ul class="{}">{}</ul>', css_class, format_html_join("", item, items))


def yuan(fen: int | None) -> str:
    """An amount kept in fen (分), as a reviewer reads it."""
    return "—" if fen is None else f"¥{Decimal(fen) / 100:,.2f}"


class DateInput(forms.DateInput):
    """The browser's own date picker: no admin calendar script needed."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


def add_service_errors(
    form: forms.Form, exc: ValidationError, renames: dict[str, str] | None = None
) -> None:
    """Put a service's ValidationError on the form fields it names (the rest on the form).
    `renames` maps a service's field name to the form's where they differ (amount_fen is the
    form's amount_yuan)."""
    renames = renames or {}
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            target = renames.get(name, name)
            for text in errors:
                form.add_error(target if target in form.fields else None, text)
    else:
        for text in exc.messages:
            form.add_error(None, text)


def reason_page(
    model_admin,
    request,
    *,
    objects,
    form,
    title,
    intro,
    button,
    action="",
    back_url="",
    template="admin/reason_form.html",
):
    """The page that asks for a reason (or a decision and its note) before an action: for one
    object (posts to itself; `back_url` is its page) or for a selection on the change list
    (posts `action` back). `template` may extend admin/reason_form.html to show the objects
    its own way."""
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "intro": intro,
        "button": button,
        "objects": objects,
        "form": form,
        "action_name": action,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
        "back_url": back_url,
        "opts": model_admin.model._meta,
    }
    return TemplateResponse(request, template, context)
