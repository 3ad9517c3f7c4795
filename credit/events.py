"""Credit events from the credit app's own sources and the layers below it: training (anchors)
and the regulators' lists (the sanctions list)."""

from __future__ import annotations

from datetime import datetime, time

from django.utils import timezone

from accounts.models import Party
from credit import scoring, sharing
from credit.models import EventKind, SanctionEntry, SanctionKind, SharedKind


def training_recorded(record) -> None:
    """LCM Art. 10: trained before the first stream and every year; each training counts for the
    rule set's `training_days`."""
    scoring.record(
        party=record.anchor_id,
        kind=EventKind.TRAINING,
        rule="training",
        points=scoring.price("training"),
        source=f"anchors.trainingrecord:{record.pk}",
        occurred_at=_day(record.completed_on),
        description=record.provider,
    )


def sanctions_recorded(entries: list[SanctionEntry]) -> int:
    """Regulators' decisions about identities registered here count against those parties."""
    by_hash: dict[str, list[SanctionEntry]] = {}
    for entry in entries:
        by_hash.setdefault(entry.identity_hash, []).append(entry)
    recorded = 0
    for party in Party.objects.filter(identity_hash__in=list(by_hash)):
        for entry in by_hash[party.identity_hash]:
            rule = f"sanction.{entry.kind}"
            event = scoring.record(
                party=party,
                kind=EventKind.SANCTION,
                rule=rule,
                points=scoring.price(rule),
                source=f"credit.sanctionentry:{entry.pk}",
                occurred_at=_day(entry.decided_on),
                description=f"{entry.authority} {entry.reference}",
            )
            recorded += event is not None
            if entry.kind == SanctionKind.SERIOUS_DISHONESTY:
                # Shared with the consortium's platforms (joint discipline, LCM Art. 14).
                sharing.feed_publish(
                    kind=SharedKind.SERIOUS_DISHONESTY,
                    party_id=party.pk,
                    source=f"credit.sanctionentry:{entry.pk}",
                    valid_from=entry.decided_on,
                    valid_until=entry.ends_on,
                )
    return recorded


def _day(day) -> datetime:
    return datetime.combine(day, time(12), tzinfo=timezone.get_current_timezone())
