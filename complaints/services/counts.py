"""Concentrated complaints per party (LCM Arts. 11, 20)."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from complaints.models import (
    Case,
    CaseKind,
    CaseStatus,
    Outcome,
)

# --- Concentrated complaints ------------------------------------------------------------------


def _counted_complaints(days: int):
    since = timezone.now() - timedelta(days=days)
    return (
        Case.objects.filter(kind=CaseKind.COMPLAINT, received_at__gte=since)
        .exclude(status=CaseStatus.MERGED)
        .exclude(outcome=Outcome.UNFOUNDED)
    )


def complaint_counts(party_ids: list[int], *, days: int = 30) -> dict[int, int]:
    """Complaints (not merged, not found unfounded) per party over the last `days` days."""
    counts: dict[int, int] = {}
    base = _counted_complaints(days)
    for column in ("merchant", "anchor"):
        rows = base.filter(**{f"{column}__in": party_ids}).values(column).annotate(n=Count("id"))
        for row in rows:
            counts[row[column]] = counts.get(row[column], 0) + row["n"]
    return counts


def complainant_counts(
    party_ids: list[int], *, days: int = 30, columns: tuple[str, ...] = ("merchant", "anchor")
) -> dict[int, int]:
    """Distinct complainants per party over the last `days` days, the measure of concentrated
    complaints for the room risk grade: one consumer filing again and again is one voice, or a
    single person could raise a room's grade (LCM Art. 20: abuse of the complaint mechanism).
    Complaints forwarded without a contact cannot be told apart and count one each. `columns`:
    where the parties are named, as the merchant, the anchor or either (one query each)."""
    counts: dict[int, int] = {}
    base = _counted_complaints(days)
    for column in columns:
        rows = (
            base.filter(**{f"{column}__in": party_ids})
            .values(column)
            .annotate(
                people=Count("contact_key", distinct=True, filter=~Q(contact_key="")),
                anonymous=Count("id", filter=Q(contact_key="")),
            )
        )
        for row in rows:
            counts[row[column]] = counts.get(row[column], 0) + row["people"] + row["anonymous"]
    return counts
