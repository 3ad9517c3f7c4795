import django_filters

from accounts.models import Party, PartyKind, Restriction, RestrictionKind
from config.api.filters import BooleanFilter, IdFilter, IsoDateTimeFilter


class PartyFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=PartyKind.choices)
    platform_ref = django_filters.CharFilter()
    updated_after = IsoDateTimeFilter(field_name="updated_at", lookup_expr="gt")

    class Meta:
        model = Party
        fields = ["kind", "platform_ref", "updated_after"]


class RestrictionFilter(django_filters.FilterSet):
    party = IdFilter(field_name="party_id")
    kind = django_filters.ChoiceFilter(choices=RestrictionKind.choices)
    in_force = BooleanFilter(method="filter_in_force")

    class Meta:
        model = Restriction
        fields = ["party", "kind", "in_force"]

    def filter_in_force(self, queryset, name, value):
        in_force = Restriction.objects.in_force().values("pk")
        return queryset.filter(pk__in=in_force) if value else queryset.exclude(pk__in=in_force)
