"""The dashboard's one task: a transparency report for a long period, prepared in the background.

Not in an app, so `config/celery.py` names this module for autodiscovery. The task takes the job's
id and re-checks its state (`exports.report_job_run`): a message delivered twice does nothing the
second time.
"""

from __future__ import annotations

from celery import shared_task


@shared_task(
    name="dashboard.transparency_report",
    acks_late=True,
    # Aggregates over years take seconds; the limits only stop a runaway query.
    soft_time_limit=600,
    time_limit=660,
)
def transparency_report(job_id: int) -> str:
    from config.dashboard import exports

    return exports.report_job_run(job_id).status
