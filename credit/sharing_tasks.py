"""The worker's side of credit sharing (credit/sharing.py): pulling peers' feeds, computing
consortium identities (the only place ID numbers are decrypted for it), and completing feed
entries that waited for one. Each task takes ids, re-reads state and is safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

# A pull reads up to CREDIT_PEER_MAX_PAGES pages, each within CREDIT_PEER_TIMEOUT_SECONDS.
PULL_SOFT_LIMIT = 15 * 60


def _job(job_id: int | None, **fields) -> None:
    from credit.models import Job

    if job_id is not None:
        Job.objects.filter(pk=job_id).update(**fields)


@shared_task(name="credit.pull_peers")
def pull_peers() -> int:
    """Every 15 minutes: one pull per active peer, each its own task (one slow peer does not hold
    up the others)."""
    from credit.models import Peer

    ids = list(Peer.objects.filter(is_active=True).values_list("pk", flat=True))
    for peer_id in ids:
        pull_peer.delay(peer_id)
    return len(ids)


@shared_task(
    name="credit.pull_peer", soft_time_limit=PULL_SOFT_LIMIT, time_limit=PULL_SOFT_LIMIT + 60
)
def pull_peer(peer_id: int, job_id: int | None = None) -> dict:
    """Pull one peer's feed. A refused page is recorded on the peer (`last_error`) and tried
    again at the next pull, so there is no retry here."""
    from credit import sharing
    from credit.models import Job, Peer

    peer = Peer.objects.filter(pk=peer_id, is_active=True).first()
    if peer is None:
        _job(job_id, status=Job.Status.DONE, result={"skipped": "inactive"})
        return {}
    _job(job_id, status=Job.Status.RUNNING)

    def progress(report: sharing.PullReport) -> None:
        _job(job_id, done=report.received, total=report.received)

    try:
        report = sharing.pull_peer(peer, progress=progress)
    except Exception as exc:
        _job(job_id, status=Job.Status.FAILED, error=str(exc)[:2000], finished_at=timezone.now())
        raise
    _job(
        job_id,
        status=Job.Status.FAILED if report.error else Job.Status.DONE,
        error=report.error,
        result=report.as_dict(),
        finished_at=timezone.now(),
    )
    return report.as_dict()


@shared_task(name="credit.backfill_consortium_identities")
def backfill_consortium_identities(job_id: int | None = None) -> int:
    """Every party's consortium hash, for those that have none yet; then the feed entries that
    waited for one."""
    from credit import sharing
    from credit.models import Job

    _job(job_id, status=Job.Status.RUNNING)

    def progress(done: int, total: int) -> None:
        _job(job_id, done=done, total=total)

    try:
        stored = sharing.consortium_identities_backfill(progress=progress)
        completed = sharing.feed_complete_pending()
    except Exception as exc:
        _job(job_id, status=Job.Status.FAILED, error=str(exc)[:2000], finished_at=timezone.now())
        raise
    _job(
        job_id,
        status=Job.Status.DONE,
        result={"identities": stored, "feed_entries_completed": completed},
        finished_at=timezone.now(),
    )
    return stored


@shared_task(name="credit.complete_feed_entries")
def complete_feed_entries() -> int:
    """Queued after a commit that published an entry whose hash needs a decryption."""
    from credit import sharing

    return sharing.feed_complete_pending()
