"""The figures of a period exported: CSV (one section per figure) and the printable transparency
report (HTML with the charts inline as SVG and every number in a table). A period over a year is
prepared in the background as a `credit.models.Job` and stored for download.

Neither holds personal data: every figure is a count or a share, and the reviewers whom the
admin's chart names are "Reviewer 1, 2 …" here, because the report is published.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext

from accounts.actors import Actor
from config.dashboard import charts
from config.dashboard.figures import FIGURES, Figure, Period, all_figures
from config.errors import Conflict
from credit.models import Job

logger = logging.getLogger(__name__)

JOB_KIND = "transparency_report"
CSV, HTML = "csv", "html"
FORMATS = (CSV, HTML)
CONTENT_TYPES = {CSV: "text/csv; charset=utf-8", HTML: "text/html; charset=utf-8"}
# The steps of the job's progress: each figure, then writing the file.
STEPS = len(FIGURES) + 1


def platform_name() -> str:
    return settings.PLATFORM_NAME or gettext("Live-commerce platform")


def file_name(period: Period, output: str) -> str:
    return f"transparency-{period.start:%Y%m%d}-{period.end:%Y%m%d}.{output}"


# --- CSV -----------------------------------------------------------------------------------------


def _cell(value) -> str | int | float:
    if value is None:
        return ""
    return value if isinstance(value, int | float) else str(value)


def to_csv(figures: list[Figure], period: Period, generated_at: datetime) -> bytes:
    """UTF-8 with a BOM (Excel then opens Chinese correctly); a header block, then one section
    per figure: its title, its column names, its rows, its note, and a blank line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([gettext("Transparency report"), platform_name()])
    writer.writerow([gettext("Period"), period.start.isoformat(), period.end.isoformat()])
    writer.writerow(
        [gettext("Generated at"), timezone.localtime(generated_at).isoformat(timespec="seconds")]
    )
    writer.writerow([])
    for figure in figures:
        writer.writerow([f"# {figure.title}"])
        percent = gettext("(%)")
        header = [str(figure.y_label if figure.chart in ("hbars", "hstacked") else figure.x_label)]
        for s in figure.series:
            shown = s.plotted and figure.percent
            header.append(f"{s.label} {percent}" if shown else str(s.label))
        writer.writerow(header)
        for category, values in figure.rows:
            writer.writerow([_cell(category), *(_cell(v) for v in values)])
        if figure.note:
            writer.writerow([str(figure.note)])
        writer.writerow([])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


# --- the printable report ------------------------------------------------------------------------


def to_html(figures: list[Figure], period: Period, generated_at: datetime) -> bytes:
    """A self-contained page: its CSS inline (print, A4), no script, no external resource."""
    by_key = {f.key: f for f in figures}
    headline = []
    if "cases" in by_key:
        headline += [
            (gettext("Complaints filed"), by_key["cases"].total("complaints")),
            (gettext("Reports filed"), by_key["cases"].total("reports")),
        ]
    if "measures" in by_key:
        headline.append((gettext("Measures executed"), by_key["measures"].total("executed")))
    if "appeals" in by_key:
        headline += [
            (gettext("Appeals filed"), by_key["appeals"].total("filed")),
            (gettext("Measures reversed on appeal"), by_key["appeals"].total("reversed")),
        ]
    html = render_to_string(
        "admin/dashboard/report.html",
        {
            "platform": platform_name(),
            "period": period,
            "generated_at": timezone.localtime(generated_at),
            "headline": headline,
            "sections": [
                {"figure": f, "svg": charts.render(f, width=680), "table": charts.table(f)}
                for f in figures
            ],
        },
    )
    return html.encode("utf-8")


def render_export(period: Period, output: str, *, progress=None) -> bytes:
    """The figures of the period in the format asked for, in the active language."""
    if output not in FORMATS:
        raise ValueError(output)
    generated_at = timezone.now()
    figures = all_figures(period, named=False, progress=progress)
    if output == CSV:
        return to_csv(figures, period, generated_at)
    return to_html(figures, period, generated_at)


# --- the long-period job -------------------------------------------------------------------------


@dataclass(frozen=True)
class JobParams:
    period: Period
    output: str
    language: str

    @classmethod
    def of(cls, job: Job) -> JobParams:
        p = job.result["params"]
        return cls(
            Period(date.fromisoformat(p["start"]), date.fromisoformat(p["end"])),
            p["output"],
            p["language"],
        )


def report_job_start(*, period: Period, output: str, language: str, actor: Actor) -> Job:
    """Queue the export of a long period; the worker stores the file and the job page offers it."""
    from config.dashboard import tasks

    if output not in FORMATS:
        raise ValueError(output)
    job = Job.objects.create(
        kind=JOB_KIND,
        total=STEPS,
        started_by=actor.label,
        result={
            "params": {
                "start": period.start.isoformat(),
                "end": period.end.isoformat(),
                "output": output,
                "language": language,
            }
        },
    )
    transaction.on_commit(lambda: tasks.transparency_report.delay(job.pk))
    return job


def report_job_run(job_id: int) -> Job:
    """The worker's part. Safe to run twice: a finished job is left alone; one a killed worker
    left running starts again and overwrites its own file (the name is the job's)."""
    claimed = Job.objects.filter(
        pk=job_id, kind=JOB_KIND, status__in=[Job.Status.QUEUED, Job.Status.RUNNING]
    ).update(status=Job.Status.RUNNING, done=0, total=STEPS)
    job = Job.objects.get(pk=job_id)
    if not claimed:
        return job
    params = JobParams.of(job)

    def progress(done: int) -> None:
        Job.objects.filter(pk=job_id).update(done=done)

    try:
        with translation.override(params.language):
            content = render_export(params.period, params.output, progress=progress)
        name = f"dashboard/reports/job-{job_id}-{file_name(params.period, params.output)}"
        if default_storage.exists(name):
            default_storage.delete(name)
        stored = default_storage.save(name, ContentFile(content))
    except Exception as exc:
        # Recorded on the job, which is what its page shows; not raised again, so that a run
        # in-process (no broker) does not turn the page that queued it into an error page.
        logger.exception("transparency report job %s failed", job_id)
        Job.objects.filter(pk=job_id).update(
            status=Job.Status.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )
        job.refresh_from_db()
        return job
    result = {
        **job.result,
        "file": stored,
        "download_name": file_name(params.period, params.output),
        "content_type": CONTENT_TYPES[params.output],
        "size": len(content),
    }
    Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(
        status=Job.Status.DONE, done=STEPS, result=result, finished_at=timezone.now()
    )
    job.refresh_from_db()
    return job


def report_job_file(job: Job):
    """The stored file of a finished job, opened for reading."""
    if job.kind != JOB_KIND or job.status != Job.Status.DONE or not job.result.get("file"):
        raise Conflict(gettext("This report is not ready."))
    return default_storage.open(job.result["file"], "rb")
