"""The credit app's tasks: the score after each event, the nightly full recompute, repair."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="credit.update_score")
def update_score(party_id: int) -> int:
    from credit import scoring

    return scoring.update_score(party_id).score


@shared_task(name="credit.recompute_all")
def recompute_all(job_id: int | None = None) -> int:
    from credit import recompute

    return recompute.recompute_all(job_id=job_id)


@shared_task(name="credit.repair_sweep")
def repair_sweep() -> int:
    from credit import repair

    return repair.repair_sweep()
