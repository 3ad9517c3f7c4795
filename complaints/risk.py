"""Concentrated complaints raise a live room's risk grade (LCM Arts. 11, 20)."""

from django.conf import settings

from complaints.services import complainant_counts
from liverooms.services import risk_factor

# Points added to a room's score when its owner is under concentrated complaint; 30 lifts a
# low room to medium and a medium one to high (liverooms.services._grade).
CONCENTRATED_COMPLAINT_POINTS = 30


@risk_factor
def concentrated_complaints(room_ids: list[int]) -> dict[int, tuple[int, str]]:
    from liverooms.models import LiveRoom

    owners = dict(LiveRoom.objects.filter(pk__in=room_ids).values_list("pk", "owner_id"))
    counts = complainant_counts(list(set(owners.values())))
    threshold = settings.COMPLAINT_CONCENTRATION_THRESHOLD
    return {
        room_id: (CONCENTRATED_COMPLAINT_POINTS, "complaints")
        for room_id, owner_id in owners.items()
        if counts.get(owner_id, 0) >= threshold
    }
