import django_filters
from django.utils.translation import gettext_lazy as _

from accounts.models import Party, PartyKind
from config.api.filters import BooleanFilter, IdFilter, IsoDateTimeFilter
from enforcement.models import (
    IN_EFFECT,
    Appeal,
    AppealStatus,
    Measure,
    MeasureKind,
    MeasureStatus,
    Violation,
    ViolationStatus,
)


class ViolationFilter(django_filters.FilterSet):
    party = IdFilter(field_name="party_id")
    status = django_filters.ChoiceFilter(choices=ViolationStatus.choices)
    type = django_filters.CharFilter(
        field_name="type__code", label=_("Violation type code, e.g. false_publicity")
    )
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = Violation
        fields = ["party", "status", "type", "created_after"]


class MeasureFilter(django_filters.FilterSet):
    party = IdFilter(field_name="party_id")
    violation = IdFilter(field_name="violation_id")
    kind = django_filters.ChoiceFilter(choices=MeasureKind.choices)
    status = django_filters.ChoiceFilter(choices=MeasureStatus.choices)
    executed_after = IsoDateTimeFilter(field_name="executed_at", lookup_expr="gte")
    in_effect = BooleanFilter(
        method="filter_in_effect",
        label=_("In effect: executed, under appeal or upheld, and not lifted"),
    )

    class Meta:
        model = Measure
        fields = ["party", "violation", "kind", "status", "executed_after", "in_effect"]

    def filter_in_effect(self, queryset, name, value):
        if value:
            return queryset.filter(status__in=IN_EFFECT)
        return queryset.exclude(status__in=IN_EFFECT)


class AppealFilter(django_filters.FilterSet):
    party = IdFilter(field_name="measure__party_id")
    measure = IdFilter(field_name="measure_id")
    status = django_filters.ChoiceFilter(choices=AppealStatus.choices)
    filed_after = IsoDateTimeFilter(field_name="filed_at", lookup_expr="gte")

    class Meta:
        model = Appeal
        fields = ["party", "measure", "status", "filed_after"]


class DepositAccountFilter(django_filters.FilterSet):
    party = IdFilter(field_name="pk")
    kind = django_filters.ChoiceFilter(choices=PartyKind.choices)

    class Meta:
        model = Party
        fields = ["party", "kind"]
