"""The dashboard's admin pages: the charts on the admin's front page, the dashboard for a chosen
period, one figure in detail, the exports, and the page of a long export's job.

Who may look: staff who may see complaints (reviewers, leads) and the auditors, who read
everything. The figures are counts and shares; nothing personal is shown but the reviewers' user
names on the inspections chart, which staff see anyway and the exports replace.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import admin
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.actors import Actor
from accounts.admin_site import Panel
from config.dashboard import charts, exports
from config.dashboard.figures import FIGURES, Figure, Period, figure
from config.dashboard.forms import ExportForm, PeriodForm
from credit.models import Job

PERMISSION = "complaints.view_case"
# The front page is every reviewer's first stop: its figures are computed at most this often.
INDEX_CACHE_SECONDS = 300
# The charts on the front page: the ones the issue asks for there; the dashboard has them all.
INDEX_FIGURES = ("cases", "deadlines", "measures", "appeals", "grades", "patrol")


def can_view(user) -> bool:
    return user.is_active and user.is_staff and user.has_perm(PERMISSION)


def dashboard_view(view):
    """Behind the admin's login and two-factor check, then the dashboard's own permission."""

    @wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs):
        if not can_view(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return admin.site.admin_view(guarded)


def _query(period: Period) -> str:
    return urlencode({"start": period.start.isoformat(), "end": period.end.isoformat()})


def _records_url(fig: Figure) -> str | None:
    if fig.records is None:
        return None
    try:
        return reverse(fig.records)
    except NoReverseMatch:  # that admin page is not installed
        return None


def _section(fig: Figure, period: Period, *, compact: bool = False, width: int = 640) -> dict:
    return {
        "figure": fig,
        "svg": charts.render(fig, width=width, height=240 if compact else 300, compact=compact),
        "table": charts.table(fig),
        "detail_url": f"{reverse('dashboard:figure', args=[fig.key])}?{_query(period)}",
        "records_url": _records_url(fig),
    }


def _export_initial(period: Period) -> dict:
    """The report by default, in the reader's language (Chinese unless they switched)."""
    return {
        "start": period.start,
        "end": period.end,
        "output": exports.HTML,
        "language": translation.get_language(),
    }


def _context(request: HttpRequest, title: str, **values) -> dict:
    return {**admin.site.each_context(request), "title": title, **values}


@dashboard_view
def dashboard(request: HttpRequest) -> HttpResponse:
    form = PeriodForm.for_request(request.GET)
    period = form.period()
    sections = [_section(figure(key, period), period) for key in FIGURES]
    export_form = ExportForm(initial=_export_initial(period))
    return TemplateResponse(
        request,
        "admin/dashboard/dashboard.html",
        _context(
            request,
            _("Compliance dashboard"),
            form=form,
            period=period,
            sections=sections,
            export_form=export_form,
        ),
    )


@dashboard_view
def figure_detail(request: HttpRequest, key: str) -> HttpResponse:
    if key not in FIGURES:
        raise Http404
    form = PeriodForm.for_request(request.GET)
    period = form.period()
    section = _section(figure(key, period), period, width=860)
    return TemplateResponse(
        request,
        "admin/dashboard/figure.html",
        _context(
            request,
            str(section["figure"].title),
            form=form,
            period=period,
            section=section,
            dashboard_url=f"{reverse('dashboard:index')}?{_query(period)}",
        ),
    )


def _file_response(content: bytes, output: str, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=exports.CONTENT_TYPES[output])
    # The report opens in the browser, ready to print; the CSV downloads.
    disposition = "attachment" if output == exports.CSV else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_http_methods(["GET", "POST"])
@dashboard_view
def export(request: HttpRequest) -> HttpResponse:
    """A period up to a year is exported at once (GET). A longer one is prepared as a job: the
    GET shows what will happen, its POST queues the job and goes to the job's page."""
    if request.method == "GET" and not request.GET:
        form = ExportForm(initial=_export_initial(Period.default()))
    else:
        form = ExportForm(request.POST if request.method == "POST" else request.GET)
    if not form.is_bound or not form.is_valid():
        return TemplateResponse(
            request,
            "admin/dashboard/export.html",
            _context(request, _("Export the figures"), form=form, long=False),
            status=400 if form.is_bound else 200,
        )
    data = form.cleaned_data
    period = Period(data["start"], data["end"])
    if not period.is_long:
        with translation.override(data["language"]):
            content = exports.render_export(period, data["output"])
        return _file_response(content, data["output"], exports.file_name(period, data["output"]))
    if request.method == "POST":
        job = exports.report_job_start(
            period=period,
            output=data["output"],
            language=data["language"],
            actor=Actor.for_user(request.user),
        )
        return redirect("dashboard:job", pk=job.pk)
    return TemplateResponse(
        request,
        "admin/dashboard/export.html",
        _context(request, _("Export the figures"), form=form, period=period, long=True),
    )


def _report_job(pk: int) -> Job:
    return get_object_or_404(Job, pk=pk, kind=exports.JOB_KIND)


@dashboard_view
def job_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The job's progress; the page reloads itself (a meta refresh, no script) until it ends."""
    job = _report_job(pk)
    params = exports.JobParams.of(job)
    running = job.status in (Job.Status.QUEUED, Job.Status.RUNNING)
    return TemplateResponse(
        request,
        "admin/dashboard/job.html",
        _context(
            request,
            _("Transparency report %(start)s – %(end)s")
            % {"start": params.period.start, "end": params.period.end},
            job=job,
            params=params,
            running=running,
            percent=round(100 * job.done / job.total) if job.total else 0,
            refresh_seconds=2 if running else None,
            download_url=reverse("dashboard:job_download", args=[job.pk])
            if job.status == Job.Status.DONE
            else None,
        ),
    )


@dashboard_view
def job_download(request: HttpRequest, pk: int) -> FileResponse:
    job = _report_job(pk)
    if job.status != Job.Status.DONE:
        raise Http404
    params = exports.JobParams.of(job)
    response = FileResponse(
        exports.report_job_file(job),
        as_attachment=params.output == exports.CSV,
        filename=job.result["download_name"],
        content_type=exports.CONTENT_TYPES[params.output],
    )
    response["Cache-Control"] = "private, no-store"
    return response


# --- the admin's front page ---------------------------------------------------------------------


def index_figures(period: Period) -> list[Figure]:
    """The front page's figures, shared by every viewer for a few minutes. Figures pickle with
    their labels still lazy, so each viewer reads them in their own language."""
    key = f"dashboard:index:{period.start.isoformat()}:{period.end.isoformat()}"
    figures = cache.get(key)
    if figures is None:
        figures = [figure(k, period) for k in INDEX_FIGURES]
        cache.set(key, figures, INDEX_CACHE_SECONDS)
    return figures


def index_panel(request: HttpRequest) -> dict | None:
    if not can_view(request.user):
        return None
    period = Period.default()
    return {
        "styles": "admin/dashboard/_styles.html",
        "period": period,
        "dashboard_url": reverse("dashboard:index"),
        "sections": [
            _section(fig, period, compact=True, width=420) for fig in index_figures(period)
        ],
    }


# Registered when the URLconf imports this module (config/urls.py), like the apps' queues.
admin.site.register_panel(
    Panel(key="dashboard", template="admin/dashboard/panel.html", context=index_panel, order=10)
)
