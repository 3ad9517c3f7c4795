"""Every page of the workbench, with its object ids filled from real records, and the rule it is
held to (tests/security/expected.py).

The pages are found the way Django serves them: the admin site's own URLs, each registered
ModelAdmin's `get_urls()` (custom views included), the dashboard's URLconf, and the slugs each
`<pk>/act/<slug>/` page answers to. A page none of the tables classifies is reported, so a new
page cannot slip past the matrix unexamined.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver

from complaints.admin.case_actions import CASE_ACTIONS
from config.dashboard import exports
from config.dashboard.figures import FIGURES
from credit.admin.jobs import JOB_KINDS
from credit.models import Job
from tests.security import expected
from tests.security.expected import Rule, need


@dataclass(frozen=True)
class Page:
    key: str  # the test id: a URL name, with the slug or the model where one name serves many
    route: str
    rule: Rule
    posts: bool  # whether a POST to it would do something, so a refused one must change nothing
    # The admin's model ("app.model") for its change pages, which also take a POST.
    model: str | None = None
    # The URL's values, looked up when the test runs (the records exist only then).
    values: Callable[[], dict] = dict

    def path(self) -> str:
        return fill(self.route, **self.values())


_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)")


def fill(route: str, **values) -> str:
    route = route.replace("^", "").replace("$", "")
    return "/" + _CONVERTER.sub(lambda m: str(values[m.group(1) or m.group(2)]), route)


def _first(model, **filters):
    return model._default_manager.filter(**filters).order_by("pk").first()


# Custom pages whose `<pk>` is not a record of their admin's own model.
OTHER_OBJECTS = {
    "accounts_registrationfile_document": "accounts.filedocument",
    "complaints_case_evidence": "complaints.evidence",
    "enforcement_violation_evidence": "enforcement.evidence",
}


def _object_for(label: str):
    from django.apps import apps

    model = apps.get_model(label)
    if label in ("complaints.evidence", "enforcement.evidence"):
        # A file that is on disk, so that a permitted viewer gets the file.
        return _first(model, file__gt="")
    if label == "liverooms.livesession":
        # One on air: inspecting an ended session sends a permitted patrol back to its page.
        return _first(model, status="live")
    return _first(model)


def _action_object(model_admin, slug):
    """An object the action applies to now, so that its form opens (200); if there is none, the
    page sends a permitted user back to the record (302)."""
    for action in getattr(model_admin, "object_actions", ()):
        if action.slug == slug:
            for obj in model_admin.model._default_manager.order_by("pk"):
                if action.applies(obj):
                    return obj
    return _first(model_admin.model)


def _pk_of(label: str, key: str = "pk"):
    return lambda: {key: _object_for(label).pk}


def model_admin_pages(handled: set[str], unclassified: list[str]) -> list[Page]:
    pages = []
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label_lower
        prefix = f"admin/{model._meta.app_label}/{model._meta.model_name}/"
        if label not in expected.MODEL_PAGES:
            unclassified.append(f"{prefix} (model {label} is not in MODEL_PAGES)")
            continue
        standard = {
            f"{model._meta.app_label}_{model._meta.model_name}_{page}": page
            for page in ("changelist", "add", "history", "delete", "change")
        }
        for pattern in model_admin.get_urls():
            route = prefix + str(pattern.pattern)
            name = pattern.name
            handled.add(route)
            if name in standard:
                page = standard[name]
                pages.append(
                    Page(
                        name,
                        route,
                        expected.model_page_rule(label, page),
                        posts=page in ("add", "change", "delete"),
                        model=label if page == "change" else None,
                        values=_pk_of(label, "object_id"),
                    )
                )
            elif name is None and str(pattern.pattern) == "<path:object_id>/":
                pages.append(
                    Page(
                        f"{label}:object",
                        route,
                        expected.model_page_rule(label, "object"),
                        posts=False,
                        values=_pk_of(label, "object_id"),
                    )
                )
            elif name == "complaints_case_action":
                for slug in CASE_ACTIONS:
                    pages.append(
                        Page(
                            f"{name}:{slug}",
                            route,
                            expected.CASE_ACTION,
                            posts=True,
                            values=lambda slug=slug, label=label: {
                                "pk": _object_for(label).pk,
                                "slug": slug,
                            },
                        )
                    )
            elif name and name.endswith("_act"):
                for action in model_admin.object_actions:
                    rule = expected.ACTIONS.get((name, action.slug))
                    if rule is None:
                        unclassified.append(f"{route} slug {action.slug}")
                        continue
                    pages.append(
                        Page(
                            f"{name}:{action.slug}",
                            route,
                            rule,
                            posts=True,
                            values=lambda ma=model_admin, slug=action.slug: {
                                "pk": _action_object(ma, slug).pk,
                                "slug": slug,
                            },
                        )
                    )
            elif name == "credit_job_start":
                for kind in JOB_KINDS:
                    pages.append(
                        Page(
                            f"{name}:{kind}",
                            route,
                            expected.JOB_START,
                            posts=True,
                            values=lambda kind=kind: {"kind": kind},
                        )
                    )
            elif name in expected.CUSTOM_PAGES:
                source = OTHER_OBJECTS.get(name, label)
                pages.append(
                    Page(
                        name,
                        route,
                        expected.CUSTOM_PAGES[name],
                        posts=name in expected.POSTS,
                        values=(
                            (
                                lambda source=source: {
                                    "pk": _object_for(source).pk,
                                    "id": _object_for(source).pk,
                                }
                            )
                            if "<" in str(pattern.pattern)
                            else dict
                        ),
                    )
                )
            else:
                unclassified.append(f"{route} ({name})")
    return pages


def site_pages(handled: set[str], unclassified: list[str]) -> list[Page]:
    pages = []
    registered_apps = sorted({m._meta.app_label for m in admin.site._registry})
    for pattern in admin.site.get_urls():
        if isinstance(pattern, URLResolver):
            continue  # a model admin's URLs: model_admin_pages
        route = "admin/" + str(pattern.pattern)
        name = pattern.name
        handled.add(route)
        if name in ("login", "logout"):
            continue  # the door itself: test_the_workbench_door
        if name == "autocomplete":
            continue  # one page per autocomplete field: autocomplete_pages
        if name == "app_list":
            for app_label in registered_apps:
                pages.append(
                    Page(
                        f"app_list:{app_label}",
                        route,
                        _app_rule(app_label),
                        posts=False,
                        values=lambda app_label=app_label: {"app_label": app_label},
                    )
                )
        elif name is None and "(?P<url>" in str(pattern.pattern):
            pages.append(
                Page(
                    "catch_all",
                    route,
                    expected.CUSTOM_PAGES["catch_all"],
                    posts=False,
                    values=lambda: {"url": "no-such-page/"},
                )
            )
        elif name == "view_on_site":

            def on_site():
                authority = _object_for("enforcement.authority")
                ct = ContentType.objects.get_for_model(authority)
                return {"content_type_id": ct.pk, "object_id": authority.pk}

            pages.append(Page(name, route, expected.CUSTOM_PAGES[name], False, values=on_site))
        elif name in expected.CUSTOM_PAGES:
            pages.append(Page(name, route, expected.CUSTOM_PAGES[name], name in expected.POSTS))
        else:
            unclassified.append(f"{route} ({name})")
    return pages


def _app_rule(app_label: str) -> Rule:
    """An app's index lists the models one may see; with none, Django answers 404."""
    perms = []
    for model in admin.site._registry:
        if model._meta.app_label == app_label:
            label = model._meta.label_lower
            offers = expected.MODEL_PAGES.get(label, expected.READ_ONLY)
            name = model._meta.model_name
            perms += [f"{app_label}.view_{name}", f"{app_label}.change_{name}"]
            if offers.add:
                perms.append(f"{app_label}.add_{name}")
            if offers.delete:
                perms.append(f"{app_label}.delete_{name}")
    return need(*perms, refused=404)


def _report_job():
    return {"pk": _first(Job, kind=exports.JOB_KIND, status=Job.Status.DONE).pk}


def dashboard_pages(handled: set[str], unclassified: list[str]) -> list[Page]:
    pages = []
    for route, name in _walk(get_resolver().url_patterns, ""):
        if not route.startswith("admin/dashboard/"):
            continue
        handled.add(route)
        rule = expected.CUSTOM_PAGES.get(name)
        if rule is None:
            unclassified.append(f"{route} ({name})")
            continue
        posts = name in expected.POSTS
        if "<slug:key>" in route:
            for figure in FIGURES:
                pages.append(
                    Page(f"{name}:{figure}", route, rule, posts, values=lambda f=figure: {"key": f})
                )
        else:
            pages.append(Page(name, route, rule, posts, values=_report_job))
    return pages


def autocomplete_pages() -> list[Page]:
    """Each autocomplete field's search, open to those who may see the records it lists."""
    pages = [
        # Without a field to complete, there is nothing to answer.
        Page("autocomplete:bare", "admin/autocomplete/", need(expected.NOBODY), posts=False)
    ]
    for model, model_admin in admin.site._registry.items():
        for field_name in model_admin.autocomplete_fields:
            remote = model._meta.get_field(field_name).remote_field.model
            app_label, name = remote._meta.app_label, remote._meta.model_name
            query = (
                f"?app_label={model._meta.app_label}&model_name={model._meta.model_name}"
                f"&field_name={field_name}&term="
            )
            pages.append(
                Page(
                    f"autocomplete:{model._meta.label_lower}.{field_name}",
                    "admin/autocomplete/" + query,
                    need(f"{app_label}.view_{name}", f"{app_label}.change_{name}"),
                    posts=False,
                )
            )
    return pages


def _walk(patterns, prefix):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            namespace = pattern.namespace
            for route, name in _walk(pattern.url_patterns, prefix + str(pattern.pattern)):
                yield route, (f"{namespace}:{name}" if namespace and name else name)
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.name


def served_admin_routes() -> set[str]:
    """Every admin route the project's URLconf serves."""
    routes = _walk(get_resolver().url_patterns, "")
    return {route for route, _name in routes if route.startswith("admin/")}


def all_pages() -> tuple[list[Page], list[str], set[str]]:
    """The pages, what could not be classified, and the routes looked at."""
    handled: set[str] = set()
    unclassified: list[str] = []
    pages = [
        *site_pages(handled, unclassified),
        *model_admin_pages(handled, unclassified),
        *dashboard_pages(handled, unclassified),
        *autocomplete_pages(),
    ]
    return pages, unclassified, handled
