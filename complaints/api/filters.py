import django_filters
from django.db.models import Q

from complaints.models import Case, CaseKind, CaseStatus, Evaluation, OrderCheck, Outcome
from config.api.filters import BooleanFilter, IdFilter, IsoDateTimeFilter


class CaseFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=CaseStatus.choices)
    kind = django_filters.ChoiceFilter(choices=CaseKind.choices)
    outcome = django_filters.ChoiceFilter(choices=Outcome.choices)
    merchant = IdFilter(field_name="merchant_id")
    anchor = IdFilter(field_name="anchor_id")
    session = IdFilter(field_name="session_id")
    received_after = IsoDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = IsoDateTimeFilter(field_name="received_at", lookup_expr="lt")
    platform_ref = django_filters.CharFilter()

    class Meta:
        model = Case
        fields = [
            "status",
            "kind",
            "outcome",
            "merchant",
            "anchor",
            "session",
            "received_after",
            "received_before",
            "platform_ref",
        ]


class EvaluationFilter(django_filters.FilterSet):
    party = IdFilter(method="filter_party", label="Merchant or anchor id")
    merchant = IdFilter(field_name="merchant_id")
    anchor = IdFilter(field_name="anchor_id")
    session = IdFilter(field_name="session_id")
    hidden = BooleanFilter(method="filter_hidden")
    order_check = django_filters.ChoiceFilter(choices=OrderCheck.choices)
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    platform_ref = django_filters.CharFilter()

    class Meta:
        model = Evaluation
        fields = [
            "party",
            "merchant",
            "anchor",
            "session",
            "hidden",
            "order_check",
            "created_after",
            "platform_ref",
        ]

    def filter_party(self, queryset, name, value):
        return queryset.filter(Q(merchant_id=value) | Q(anchor_id=value))

    def filter_hidden(self, queryset, name, value):
        return queryset.filter(hidden_at__isnull=not value)
