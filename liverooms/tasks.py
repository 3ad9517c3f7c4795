"""Thin tasks for live rooms."""

from celery import shared_task


@shared_task(name="liverooms.rooms_regrade", time_limit=1800, soft_time_limit=1700)
def rooms_regrade() -> int:
    """Nightly: every room's risk grade from its record, reach, sales, category and alerts."""
    from liverooms.services import rooms_regrade as regrade

    return regrade()
