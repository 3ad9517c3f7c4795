"""The period picker and the export form of the dashboard."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.admin_forms import DateInput
from config.dashboard.exports import CSV, HTML
from config.dashboard.figures import Period

# Ten years of monthly buckets is 120 columns: the most a chart can still show.
MAX_DAYS = 3660


class PeriodForm(forms.Form):
    start = forms.DateField(label=pgettext_lazy("period", "from"), widget=DateInput)
    end = forms.DateField(label=_("to (inclusive)"), widget=DateInput)

    @classmethod
    def for_request(cls, data) -> PeriodForm:
        """Bound to the query string when it names a period, else showing the default one."""
        if "start" in data or "end" in data:
            return cls(data)
        default = Period.default()
        return cls(initial={"start": default.start, "end": default.end})

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if start > end:
                raise forms.ValidationError(_("The period ends before it starts."))
            if (end - start).days >= MAX_DAYS:
                raise forms.ValidationError(_("Choose a period of at most ten years."))
        return cleaned

    def period(self) -> Period:
        """The period asked for, or the default one when nothing (valid) was asked."""
        if self.is_bound and self.is_valid():
            return Period(self.cleaned_data["start"], self.cleaned_data["end"])
        return Period.default()


class ExportForm(PeriodForm):
    output = forms.ChoiceField(
        label=_("format"),
        choices=[
            (HTML, _("Printable transparency report")),
            (CSV, _("CSV, one section per figure")),
        ],
    )
    language = forms.ChoiceField(label=_("language"), choices=settings.LANGUAGES)
