import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Party, PartyKind
from credit import selectors


class _PartyFilterForm(forms.Form):
    def clean_grade(self):
        grade = self.cleaned_data.get("grade")
        grades = selectors.grade_names()
        if grade and grade not in grades:
            # A 400 naming the grades there are, not an empty list that looks like an answer.
            raise forms.ValidationError(
                _("Not a grade of the credit rules in force: %(grades)s.")
                % {"grades": ", ".join(grades)}
            )
        return grade


class PublicPartyFilter(django_filters.FilterSet):
    """The directory's search: every word of `q` in the name, a kind, a grade of the published
    scale (the scale is configuration, so the grades are checked, not enumerated). The same
    selectors as the public page."""

    q = django_filters.CharFilter(
        method="filter_q",
        max_length=selectors.QUERY_MAX_LENGTH,
        label=_("Words the name contains, all of them"),
    )
    kind = django_filters.ChoiceFilter(choices=PartyKind.choices)
    grade = django_filters.CharFilter(
        method="filter_grade",
        max_length=8,
        label=_("A grade of the credit rules in force, e.g. A"),
    )

    class Meta:
        model = Party
        fields = ["q", "kind", "grade"]
        form = _PartyFilterForm

    def filter_q(self, queryset, name, value):
        return selectors.parties_named(queryset, value)

    def filter_grade(self, queryset, name, value):
        return selectors.parties_graded(queryset, value)
