"""Credit rule sets: a draft is written as JSON and checked like a published one; publishing asks
for the date it takes effect, at least 7 days ahead (ECL Art. 34); published versions are
read-only. Every write goes through `credit.rulesets`, which checks the permission again."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Subquery
from django.forms.fields import InvalidJSONInput
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from accounts.actors import Actor
from accounts.admin_forms import add_service_errors
from config.api.lookups import storable_id
from config.errors import Conflict
from credit import rulesets
from credit.admin.common import form_page
from credit.models import RuleSet
from credit.rules import parse
from credit.scoring import rule_set_in_force

STATE_LABELS = {
    # Not published: still edited, counts for nothing.
    "draft": _("draft"),
    # Published, its start still ahead: public, but the scores do not use it yet.
    "scheduled": _("scheduled"),
    # The latest published version whose start has come: the scores use it.
    "in_force": pgettext_lazy("rule set", "in force"),
    # Published and started, but a later version has started since.
    "superseded": _("superseded"),
}


def rule_set_state(rule_set: RuleSet, in_force_id: int | None, now: datetime) -> str:
    if not rule_set.is_published:
        return "draft"
    if rule_set.effective_from > now:
        return "scheduled"
    return "in_force" if rule_set.pk == in_force_id else "superseded"


def earliest_start(now: datetime) -> datetime:
    """The default start offered when publishing: the first local midnight at least 7 days away,
    so that the minutes spent on the page do not push it inside the notice period."""
    day = timezone.localtime(now + rulesets.NOTICE).date() + timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=timezone.get_current_timezone())


def rule_changes(old: dict, new: dict, prefix: str = "") -> list[tuple[str, object, object]]:
    """What a draft changes against another version, as (dotted path, before, after)."""
    changes = []
    for key in sorted(set(old) | set(new), key=str):
        name = f"{prefix}{key}"
        before, after = old.get(key), new.get(key)
        if isinstance(before, dict) and isinstance(after, dict):
            changes.extend(rule_changes(before, after, f"{name}."))
        elif before != after:
            changes.append((name, before, after))
    return changes


def pretty(rules) -> str:
    return json.dumps(rules, ensure_ascii=False, indent=2)


class RulesField(forms.JSONField):
    """The rule set's JSON, indented for reading and editing in a textarea."""

    def prepare_value(self, value):
        if isinstance(value, InvalidJSONInput):
            return value
        return pretty(value)


class RuleSetForm(forms.ModelForm):
    rules = RulesField(
        label=_("rules"),
        widget=forms.Textarea(
            attrs={"rows": 40, "cols": 100, "class": "vLargeTextField", "spellcheck": "false"}
        ),
        help_text=_(
            "The scale and grades, the points of each event, decay, repair, evaluations, the "
            "grade each category needs to go live, and the entry grade. Checked when saved."
        ),
    )

    class Meta:
        model = RuleSet
        fields = ["title", "summary", "rules"]

    def clean_rules(self):
        rules = self.cleaned_data["rules"]
        # The same check the services make when they save and when they publish.
        try:
            parse(rules)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None
        return rules


class PublishForm(forms.Form):
    effective_from = forms.SplitDateTimeField(
        label=_("in force from"),
        widget=AdminSplitDateTime,
        help_text=_(
            "Public from the moment you publish; in force from this time, at least 7 days "
            "later (E-Commerce Law Art. 34). China Standard Time."
        ),
    )


@admin.register(RuleSet)
class RuleSetAdmin(admin.ModelAdmin):
    form = RuleSetForm
    list_display = ["version", "title", "published_at", "effective_from", "state"]
    list_display_links = ["version", "title"]
    search_fields = ["title"]
    editable_fields = ["title", "summary", "rules"]
    record_fields = [
        "version",
        "state",
        "created_at",
        "created_by",
        "published_at",
        "published_by",
        "effective_from",
    ]
    readonly_fields = [*record_fields, "rules_display"]

    def get_queryset(self, request):
        # The version in force, computed once by the database for the whole page.
        in_force = RuleSet.objects.filter(
            published_at__isnull=False, effective_from__lte=timezone.now()
        ).order_by("-effective_from", "-version")
        return (
            super().get_queryset(request).annotate(in_force_id=Subquery(in_force.values("pk")[:1]))
        )

    # --- permissions: drafts are edited by leads; nothing is deleted

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (obj is None or not obj.is_published)

    def has_delete_permission(self, request, obj=None):
        return False

    def has_publish_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("credit.publish_ruleset") and (
            obj is None or not obj.is_published
        )

    def get_fields(self, request, obj=None):
        if obj is None:
            return self.editable_fields
        if self.has_change_permission(request, obj):
            return [*self.record_fields, *self.editable_fields]
        return [*self.record_fields, "title", "summary", "rules_display"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and not self.has_change_permission(request, obj):
            return [*self.readonly_fields, "title", "summary"]
        return self.readonly_fields

    @admin.display(description=_("status"))
    def state(self, obj):
        in_force_id = getattr(obj, "in_force_id", None)
        return STATE_LABELS[rule_set_state(obj, in_force_id, timezone.now())]

    @admin.display(description=_("rules"))
    def rules_display(self, obj):
        return format_html('<pre class="credit-rules">{}</pre>', pretty(obj.rules))

    # --- a new draft starts from the rules in force (or from the version it is made from)

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        source = None
        if (from_pk := storable_id(request.GET.get("from", ""))) is not None:
            source = RuleSet.objects.filter(pk=from_pk).first()
        if source is None:
            source, _rules = rule_set_in_force()
        # The title and the summary are the new version's own; only the rules carry over.
        initial["rules"] = source.rules
        return initial

    def save_model(self, request, obj, form, change):
        actor = Actor.for_user(request.user)
        values = {name: form.cleaned_data[name] for name in self.editable_fields}
        if change:
            rulesets.ruleset_update(rule_set=obj, actor=actor, **values)
        else:
            created = rulesets.ruleset_draft(actor=actor, **values)
            # The admin's message, log entry and redirect follow the row the service made.
            obj.pk, obj.version, obj.created_by = created.pk, created.version, created.created_by

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id)) if object_id else None
        if obj is not None:
            extra_context = {
                **(extra_context or {}),
                "can_publish": self.has_publish_permission(request, obj),
                "can_draft": self.has_add_permission(request),
            }
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except (Conflict, ValidationError) as exc:
            # Published by someone else since the form was opened: the view's transaction rolled
            # back, nothing was saved.
            self.message_user(request, _refusal(exc), messages.ERROR)
            return HttpResponseRedirect(request.path)

    # --- publishing

    def get_urls(self):
        return [
            path(
                "<int:pk>/publish/",
                self.admin_site.admin_view(self.publish_view),
                name="credit_ruleset_publish",
            ),
            *super().get_urls(),
        ]

    def publish_view(self, request, pk):
        obj = self.get_object(request, str(pk))
        if obj is None:
            raise Http404
        change_url = reverse("admin:credit_ruleset_change", args=[obj.pk])
        if not request.user.has_perm("credit.publish_ruleset"):
            raise PermissionDenied
        if obj.is_published:
            self.message_user(
                request, gettext("This rule set has been published already."), messages.ERROR
            )
            return HttpResponseRedirect(change_url)
        form = PublishForm(
            request.POST if request.method == "POST" else None,
            initial={"effective_from": earliest_start(timezone.now())},
        )
        if request.method == "POST" and form.is_valid():
            try:
                rulesets.ruleset_publish(
                    rule_set=obj,
                    effective_from=form.cleaned_data["effective_from"],
                    actor=Actor.for_user(request.user),
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            except (Conflict, PermissionDenied) as exc:
                self.message_user(request, _refusal(exc), messages.ERROR)
                return HttpResponseRedirect(change_url)
            else:
                obj.refresh_from_db()
                self.message_user(
                    request,
                    gettext("%(rule_set)s is public now and in force from %(start)s.")
                    % {
                        "rule_set": obj,
                        "start": timezone.localtime(obj.effective_from).strftime("%Y-%m-%d %H:%M"),
                    },
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(change_url)
        in_force, _rules = rule_set_in_force()
        return form_page(
            self,
            request,
            title=gettext("Publish %(rule_set)s") % {"rule_set": obj},
            form=form,
            button=gettext("Publish"),
            back_url=change_url,
            template="admin/credit/ruleset/publish.html",
            object=obj,
            in_force=in_force,
            changes=rule_changes(in_force.rules, obj.rules),
        )


def _refusal(exc: Exception) -> str:
    if isinstance(exc, Conflict):
        return str(exc.message)
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or gettext("You do not have permission to do this.")
