"""What every app's admin forms share: a service's refusal shown on the fields it names."""

from django import forms
from django.core.exceptions import ValidationError


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
