"""Reads of the registry."""

from django.db.models import Prefetch, QuerySet

from accounts.models import Party, Restriction


def party_list() -> QuerySet[Party]:
    # Restrictions in force come in one extra query per page, whatever the page size.
    return Party.objects.prefetch_related(
        Prefetch(
            "restrictions",
            queryset=Restriction.objects.in_force().order_by("starts_at", "id"),
            to_attr="restrictions_in_force",
        )
    )


def restriction_list() -> QuerySet[Restriction]:
    return Restriction.objects.all()
