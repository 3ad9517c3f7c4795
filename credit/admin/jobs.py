"""Long jobs started from the admin (recomputes, imports, exports): a page to start one, and the
job's page, which shows its progress and reloads itself while the job runs -- no script needed.

Any app may offer a job here: `register_job_kind(JobKind(...))` with the permission that starts it
and a function that queues its task with the job's id. The task reports progress on the `Job` row
(`done`/`total`, then `status`, `result` or `error`), as `credit.recompute.recompute_all` does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from accounts.actors import Actor
from config.errors import Conflict
from credit.admin.common import ReadOnlyAdmin, admin_link, form_page
from credit.models import Job

logger = logging.getLogger(__name__)

# How often the page of a running job reloads itself.
REFRESH_SECONDS = 2
# A job still "queued" or "running" after this long was lost with its worker (the task's time
# limit is minutes): it no longer stops another of its kind from starting.
STALE_AFTER = timedelta(hours=1)
ACTIVE = [Job.Status.QUEUED, Job.Status.RUNNING]


@dataclass(frozen=True)
class JobKind:
    key: str
    title: str
    # What the job does, shown on the page that starts it.
    description: str
    # "app_label.codename" needed to start it.
    permission: str
    # Queues the task with the job's id; called after the job's row is committed.
    enqueue: Callable[[int], object]


JOB_KINDS: dict[str, JobKind] = {}


def register_job_kind(kind: JobKind) -> None:
    JOB_KINDS[kind.key] = kind


def _enqueue_recompute(job_id: int):
    from credit import tasks

    return tasks.recompute_all.delay(job_id)


register_job_kind(
    JobKind(
        key="recompute_all",
        title=_("Recompute all scores"),
        description=_(
            "Every party's score is computed again from all its events under the rule set in "
            "force, in a few set-based statements; the changes go into each party's history. "
            "The nightly run does the same; start one now after publishing rules that take "
            "effect today or after correcting many events."
        ),
        permission="credit.add_job",
        enqueue=_enqueue_recompute,
    )
)


def job_start(*, kind: JobKind, actor: Actor) -> Job:
    """A job row, its task queued once the row is committed. One job of a kind at a time."""
    if actor.user is None or not actor.user.has_perm(kind.permission):
        raise PermissionDenied(gettext("You do not have permission to do this."))
    with transaction.atomic():
        # Two leads clicking at once may both pass this check; the second run then finds the
        # scores current and changes nothing, so a lock is not worth it.
        running = Job.objects.filter(
            kind=kind.key, status__in=ACTIVE, created_at__gt=timezone.now() - STALE_AFTER
        ).first()
        if running is not None:
            raise Conflict(
                gettext("%(job)s is already queued or running (job #%(id)d).")
                % {"job": kind.title, "id": running.pk}
            )
        job = Job.objects.create(kind=kind.key, started_by=actor.label)
        transaction.on_commit(lambda: _enqueue(kind, job.pk))
    return job


def _enqueue(kind: JobKind, job_id: int) -> None:
    try:
        kind.enqueue(job_id)
    except Exception as exc:
        # The broker is down (or, with eager tasks, the task itself failed and said so on the
        # job already): the job says it failed rather than stay "queued" with nothing coming.
        logger.exception("job %s (%s) could not be queued", job_id, kind.key)
        Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
            status=Job.Status.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )


def job_title(key: str) -> str:
    kind = JOB_KINDS.get(key)
    return str(kind.title) if kind else key


class JobKindFilter(admin.SimpleListFilter):
    title = _("job")
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [(kind.key, kind.title) for kind in JOB_KINDS.values()]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(kind=self.value())
        return queryset


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ["id", "job", "status", "progress", "started_by", "created_at", "finished_at"]
    list_display_links = ["id", "job"]
    list_filter = ["status", JobKindFilter]
    show_full_result_count = False
    list_per_page = 50
    fields = [
        "job",
        "status",
        "progress",
        "started_by",
        "created_at",
        "finished_at",
        "result_display",
        "error",
    ]
    readonly_fields = fields

    @admin.display(description=_("job"), ordering="kind")
    def job(self, obj):
        return job_title(obj.kind)

    @admin.display(description=_("progress"))
    def progress(self, obj):
        if not obj.total:
            return "—" if obj.status == Job.Status.QUEUED else f"{obj.done}"
        return format_html(
            '<progress value="{}" max="{}"></progress> {} / {} ({}%)',
            obj.done,
            obj.total,
            obj.done,
            obj.total,
            obj.done * 100 // obj.total,
        )

    @admin.display(description=pgettext_lazy("job", "result"))
    def result_display(self, obj):
        if not obj.result:
            return "—"
        return format_html_join(", ", "{}: {}", obj.result.items())

    def startable(self, request) -> list[dict]:
        return [
            {"key": kind.key, "title": kind.title, "url": self.start_url(kind)}
            for kind in JOB_KINDS.values()
            if request.user.has_perm(kind.permission)
        ]

    def start_url(self, kind: JobKind) -> str:
        return reverse("admin:credit_job_start", args=[kind.key])

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "startable": self.startable(request)}
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.get_object(request, unquote(object_id))
        if job is not None:
            extra_context = {
                **(extra_context or {}),
                # The page reloads itself until the job has ended.
                "refresh_seconds": REFRESH_SECONDS if job.status in ACTIVE else None,
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        return [
            path(
                "start/<slug:kind>/",
                self.admin_site.admin_view(self.start_view),
                name="credit_job_start",
            ),
            *super().get_urls(),
        ]

    def start_view(self, request, kind):
        job_kind = JOB_KINDS.get(kind)
        if job_kind is None:
            raise Http404
        if not request.user.has_perm(job_kind.permission):
            raise PermissionDenied
        changelist = reverse("admin:credit_job_changelist")
        if request.method == "POST":
            try:
                job = job_start(kind=job_kind, actor=Actor.for_user(request.user))
            except Conflict as exc:
                self.message_user(request, str(exc.message), messages.ERROR)
                return HttpResponseRedirect(changelist)
            self.message_user(
                request,
                gettext("%(job)s queued: this page follows its progress.")
                % {"job": job_kind.title},
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:credit_job_change", args=[job.pk]))
        last = Job.objects.filter(kind=job_kind.key).order_by("-created_at").first()
        return form_page(
            self,
            request,
            title=job_kind.title,
            form=None,
            button=gettext("Start"),
            back_url=changelist,
            template="admin/credit/job/start.html",
            intro=job_kind.description,
            last_job=last,
            last_job_link=admin_link(last, f"#{last.pk}") if last else None,
        )
