"""The public forms of enforcement: the notice page's filter and the appeal on a statement,
with the complaint forms' look (`complaints.forms.PublicForm`).

They check the shape of what was sent; the rules (one appeal per measure, the window, what
grounds must say) are `enforcement.services.appeal_file`'s, and its errors come back onto the
appeal form's fields.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from complaints.forms import PublicForm
from complaints.search import QUERY_MAX_LENGTH, normalise_query
from enforcement.models import PUBLIC_NOTICE_MEASURES, MeasureKind
from enforcement.services.appeals import MAX_GROUNDS

# The published kinds in the ladder's order, for the filter's choices.
NOTICE_KINDS = [(kind.value, kind.label) for kind in MeasureKind if kind in PUBLIC_NOTICE_MEASURES]


class NoticeFilterForm(PublicForm):
    """A party's name (every word must appear) and the kind of measure; both optional."""

    q = forms.CharField(
        label=_("Party name"),
        required=False,
        max_length=QUERY_MAX_LENGTH,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    kind = forms.ChoiceField(
        label=_("Measure"),
        required=False,
        choices=[("", _("All measures")), *NOTICE_KINDS],
    )

    def words(self) -> list[str]:
        return normalise_query(self.cleaned_data.get("q")).split()


class AppealForm(PublicForm):
    grounds = forms.CharField(
        label=_("Why the measure is wrong"),
        help_text=_(
            "Say which facts are wrong or what the decision overlooked. Someone who took no part "
            "in the decision reads it."
        ),
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=MAX_GROUNDS,
    )
    contact = forms.CharField(
        label=_("How to reach you"),
        help_text=_("An e-mail address or phone number, if it differs from the one on file."),
        max_length=200,
        required=False,
    )
