"""Thin tasks for live rooms."""

from celery import shared_task


@shared_task(name="liverooms.rooms_regrade", time_limit=1800, soft_time_limit=1700)
def rooms_regrade() -> int:
    """Nightly: every room's risk grade from its record, reach, sales, category and alerts."""
    from liverooms.services import rooms_regrade as regrade

    return regrade()


@shared_task(name="liverooms.end_barred_sessions", time_limit=300, soft_time_limit=240)
def end_barred_sessions() -> int:
    """Every minute: sessions on air with a party barred from the air are ended (LCM Arts. 12
    and 14), those the restriction's own listener could not see included."""
    from liverooms.services import end_barred_sessions as end

    return end()
