"""The compliance workbench: the Django admin behind two-factor, its index organised by work.

The index shows work queues first -- each a filtered change list with a count, visible only to
roles that may see it -- and then the sections in the order a reviewer's day runs, not the
alphabetical list of apps. Apps register their queues with `site.register_queue(...)` in their
admin modules. Below the queues come panels (`site.register_panel(...)`): the compliance
dashboard's charts, registered by `config.dashboard` -- which reads every app, so it is the one
that calls in here, never the other way round.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminSite

from accounts.forms import WorkbenchAuthenticationForm

# The sections of the index, in the order of the work (registration → live rooms → complaints →
# enforcement → credit), then access and the audit trail. Apps not listed come last.
SECTION_ORDER = [
    "merchants",
    "anchors",
    "liverooms",
    "complaints",
    "enforcement",
    "credit",
    "accounts",
    "auth",
    "otp_totp",
    "axes",
    "admin",
]


@dataclass(frozen=True)
class Queue:
    key: str
    title: str
    # "app_label.codename" the viewer needs to see the queue at all.
    permission: str
    # Admin URL name and query string of the filtered change list.
    url_name: str
    query: str
    # Counts the items; must be an index-backed query (it runs on every index view).
    count: Callable[[HttpRequest], int]
    order: int = 100


@dataclass(frozen=True)
class Panel:
    key: str
    template: str
    # The template's context for this viewer, or None to leave the panel out for them.
    context: Callable[[HttpRequest], dict | None]
    order: int = 100


class ComplianceAdminSite(OTPAdminSite):
    site_header = _("Live-commerce compliance workbench")
    site_title = _("Compliance workbench")
    index_title = _("Work queues")
    index_template = "admin/workbench_index.html"
    login_form = WorkbenchAuthenticationForm

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)
        self._queues: dict[str, Queue] = {}
        self._panels: dict[str, Panel] = {}

    def register_queue(self, queue: Queue) -> None:
        self._queues[queue.key] = queue

    def register_panel(self, panel: Panel) -> None:
        self._panels[panel.key] = panel

    def panels_for(self, request: HttpRequest) -> list[dict]:
        panels = []
        for panel in sorted(self._panels.values(), key=lambda p: (p.order, p.key)):
            context = panel.context(request)
            if context is not None:
                panels.append({"key": panel.key, "template": panel.template, **context})
        return panels

    def queues_for(self, request: HttpRequest) -> list[dict]:
        visible = [q for q in self._queues.values() if request.user.has_perm(q.permission)]
        return [
            {
                "key": q.key,
                "title": q.title,
                "url": f"{reverse(q.url_name, current_app=self.name)}?{q.query}",
                "count": q.count(request),
            }
            for q in sorted(visible, key=lambda q: (q.order, q.key))
        ]

    def get_app_list(self, request, app_label=None):
        app_list = super().get_app_list(request, app_label)
        rank = {label: i for i, label in enumerate(SECTION_ORDER)}
        return sorted(
            app_list, key=lambda app: (rank.get(app["app_label"], len(rank)), app["name"])
        )

    def index(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "queues": self.queues_for(request),
            "panels": self.panels_for(request),
        }
        return super().index(request, extra_context)
