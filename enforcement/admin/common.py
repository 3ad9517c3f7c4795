"""What the enforcement workbench's pages share: object actions (one small form each, calling one
service), the pages they render, read-only inlines, and money typed in yuan.

An object action is offered on the object's page to those with its permission, served at
`<pk>/act/<slug>/`, and -- where it makes sense for many at once -- as a change-list action with
an intermediate form. The view checks the permission; the service checks it again, with the
status. A field error from the service lands on the form as typed; a refusal (a `Conflict`, or a
`PermissionDenied` such as a proposer approving their own measure) goes back to the object with
the service's message. Nothing is changed either way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from accounts.actors import Actor
from accounts.admin_forms import add_service_errors, admin_link, yuan
from complaints.admin.common import TRACKING_CODE
from complaints.models import Case
from config.errors import Conflict

__all__ = [
    "CaseCodeField",
    "EmptyForm",
    "EventInline",
    "ObjectAction",
    "ObjectActionsMixin",
    "ReadOnlyInline",
    "ReasonForm",
    "YuanField",
    "admin_link",
    "fen",
    "refusal_message",
    "yuan",
]


class ReadOnlyInline(admin.TabularInline):
    """Timelines, evidence, ledger entries: shown, never added, edited or deleted here."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class EventInline(ReadOnlyInline):
    fields = ["at", "kind", "actor_label", "reason", "data"]
    readonly_fields = fields
    ordering = ["at", "id"]
    verbose_name_plural = _("timeline")


class EmptyForm(forms.Form):
    """An action that needs nothing but the click (publish, send again)."""


class ReasonForm(forms.Form):
    # Not required here: the service says why an empty reason is refused, in one place.
    reason = forms.CharField(
        label=_("reason (recorded)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "vLargeTextField"}),
    )


class YuanField(forms.DecimalField):
    """Reviewers think in yuan; the services and the ledger keep integer fen."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", Decimal("0.01"))
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("max_digits", 14)
        super().__init__(**kwargs)


class CaseCodeField(forms.CharField):
    """A complaint by its tracking code, as reviewers quote it."""

    def clean(self, value):
        code = super().clean(value).strip().upper()
        if not code:
            return None
        case = (
            Case.objects.filter(tracking_code=code).first()
            if TRACKING_CODE.fullmatch(code)
            else None
        )
        if case is None:
            raise ValidationError(_("No complaint or report has this tracking code."))
        return case


def fen(value: Decimal | None) -> int | None:
    return None if value is None else int(value * 100)


def refusal_message(exc: Exception) -> str:
    if isinstance(exc, Conflict):
        return str(exc.message)
    return str(exc) or str(_("You do not have permission to do this."))


@dataclass(frozen=True)
class ObjectAction:
    slug: str
    title: str
    button: str
    form: type[forms.Form]
    # Calls the service; returns the message shown on success, or (message, URL to go to next).
    run: Callable[[Any, forms.Form, Actor], str | tuple[str, str]]
    # Any one of these lets a user act; the service checks its own again.
    permissions: tuple[str, ...]
    # Whether the object's page offers it now; the service has the last word on the status.
    applies: Callable[[Any], bool] = lambda obj: True
    # Service field name -> form field name, for the errors the service raises.
    renames: dict[str, str] = field(default_factory=dict)
    # The form is built for the object (choices bounded by its party, initial values).
    takes_object: bool = False
    multipart: bool = False
    # Shown folded on the object's page; a larger form is a link to its own page instead.
    inline: bool = True
    template: str = "admin/enforcement/action.html"
    # Extra context for the action's own page (a proposal's history and defaults).
    context: Callable[[Any], dict] | None = None
    # Offered on the change list for a selection too (forms that do not take the object).
    bulk: bool = False


class ObjectActionsMixin:
    """A ModelAdmin whose records change only through `object_actions`."""

    object_actions: tuple[ObjectAction, ...] = ()

    # --- permissions

    def may(self, request, action: ObjectAction) -> bool:
        return any(request.user.has_perm(p) for p in action.permissions)

    def _action(self, slug: str) -> ObjectAction:
        for action in self.object_actions:
            if action.slug == slug:
                return action
        raise Http404

    # --- URLs and the object's page

    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "<int:pk>/act/<slug:slug>/",
                self.admin_site.admin_view(self.object_action_view),
                name=f"{opts.app_label}_{opts.model_name}_act",
            ),
            *super().get_urls(),
        ]

    def action_url(self, obj, action: ObjectAction) -> str:
        opts = self.model._meta
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_act", args=[obj.pk, action.slug])

    def change_url(self, obj) -> str:
        opts = self.model._meta
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])

    def build_form(self, action: ObjectAction, obj, data=None, files=None) -> forms.Form:
        kwargs = {"auto_id": f"id_{action.slug}_%s"}
        if action.takes_object:
            kwargs["obj"] = obj
        return action.form(data, files, **kwargs)

    def offered_actions(self, request, obj) -> list[dict]:
        return [
            self._action_context(action, obj, self.build_form(action, obj))
            for action in self.object_actions
            if action.inline and action.applies(obj) and self.may(request, action)
        ]

    def object_links(self, request, obj) -> list[dict]:
        """Links to the object's larger action pages, and to related lists."""
        return [
            {"url": self.action_url(obj, action), "title": action.title}
            for action in self.object_actions
            if not action.inline and action.applies(obj) and self.may(request, action)
        ]

    def _action_context(self, action: ObjectAction, obj, form) -> dict:
        return {
            "slug": action.slug,
            "title": action.title,
            "button": action.button,
            "form": form,
            "url": self.action_url(obj, action),
            "multipart": action.multipart,
        }

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is not None:
            extra_context = {
                **(extra_context or {}),
                "object_actions": self.offered_actions(request, obj),
                "object_links": self.object_links(request, obj),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def render_change_form(self, request, context, *args, **kwargs):
        # Autocomplete and date widgets of the action forms bring their scripts.
        for action in context.get("object_actions", []):
            context["media"] = context["media"] + action["form"].media
        return super().render_change_form(request, context, *args, **kwargs)

    # --- one action on one object

    def object_action_view(self, request, pk, slug):
        action = self._action(slug)
        if not self.may(request, action):
            raise PermissionDenied
        obj = self.get_object(request, str(pk))
        if obj is None:
            raise Http404
        change_url = self.change_url(obj)
        if not action.applies(obj):
            # A page left open while someone moved the record on; the service would refuse too.
            self.message_user(
                request,
                _("“%(action)s” is not possible for %(object)s as it is now.")
                % {"action": action.title, "object": obj},
                messages.ERROR,
            )
            return HttpResponseRedirect(change_url)
        posted = request.method == "POST"
        form = self.build_form(
            action, obj, request.POST if posted else None, request.FILES if posted else None
        )
        if posted and form.is_valid():
            try:
                outcome = action.run(obj, form, Actor.for_user(request.user))
            except ValidationError as exc:
                add_service_errors(form, exc, action.renames)
            except (Conflict, PermissionDenied) as exc:
                self.message_user(request, refusal_message(exc), messages.ERROR)
                return HttpResponseRedirect(change_url)
            else:
                text, next_url = outcome if isinstance(outcome, tuple) else (outcome, change_url)
                self.message_user(request, text, messages.SUCCESS)
                return HttpResponseRedirect(next_url)
        self.report_form_errors(request, form)
        context = {
            "title": _("%(action)s: %(object)s") % {"action": action.title, "object": obj},
            "object": obj,
            "action": self._action_context(action, obj, form),
            "back_url": change_url,
            **(action.context(obj) if action.context else {}),
        }
        return self.form_page(request, action.template, form, context)

    def report_form_errors(self, request, form) -> None:
        if form.is_bound and form.errors:
            texts = [str(text) for errors in form.errors.values() for text in errors]
            self.message_user(
                request,
                _("Nothing was changed: %(errors)s") % {"errors": " ".join(texts)},
                messages.ERROR,
            )

    def form_page(self, request, template: str, form, context: dict) -> TemplateResponse:
        return TemplateResponse(
            request,
            template,
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "media": self.media + form.media,
                **context,
            },
        )

    # --- the same actions on a selection from the change list

    def get_actions(self, request):
        actions = super().get_actions(request)
        for action in self.object_actions:
            if action.bulk and self.may(request, action):
                name = f"bulk_{action.slug}"
                actions[name] = (self._bulk(action), name, action.title)
        return actions

    def _bulk(self, action: ObjectAction):
        def run_for_selection(model_admin, request, queryset):
            return model_admin.bulk_action_view(request, queryset, action)

        return run_for_selection

    def bulk_action_view(self, request, queryset, action: ObjectAction):
        """The intermediate page asks for the form once; each selected object then goes through
        the service on its own, and a refusal of one does not stop the others."""
        form = action.form(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            actor, done, refused = Actor.for_user(request.user), 0, []
            for obj in queryset:
                try:
                    action.run(obj, form, actor)
                except ValidationError as exc:
                    if not (done or refused):
                        # Wrong input is wrong for every object: ask again.
                        add_service_errors(form, exc, action.renames)
                        break
                    refused.append(f"{obj}: {' '.join(exc.messages)}")
                except (Conflict, PermissionDenied) as exc:
                    refused.append(f"{obj}: {refusal_message(exc)}")
                else:
                    done += 1
            else:
                for problem in refused:
                    self.message_user(request, problem, messages.WARNING)
                self.message_user(
                    request,
                    _("Done for %(done)d of %(n)d selected.")
                    % {"done": done, "n": done + len(refused)},
                    messages.SUCCESS if done else messages.WARNING,
                )
                return None
        self.report_form_errors(request, form)
        context = {
            "title": action.title,
            "objects": list(queryset),
            "action_name": f"bulk_{action.slug}",
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "action": {"title": action.title, "button": action.button, "form": form},
        }
        return self.form_page(request, "admin/enforcement/bulk_action.html", form, context)
