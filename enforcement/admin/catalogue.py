"""The catalogue of violation types: drafts are edited here, published and retired versions are
read-only, and a change is a new version that a lead publishes."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.actors import Actor
from accounts.admin_forms import add_service_errors
from config.errors import Conflict
from enforcement import services
from enforcement.admin.common import EmptyForm, ObjectAction, ObjectActionsMixin
from enforcement.models import CatalogueStatus, MeasureKind, ViolationType
from enforcement.services.catalogue import CATALOGUE_FIELDS, type_update, validate_type


class ViolationTypeForm(forms.ModelForm):
    # Measures are chosen from the ladder, never typed as JSON.
    allowed_measures = forms.MultipleChoiceField(
        label=_("allowed measures"),
        choices=MeasureKind.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    default_measures = forms.MultipleChoiceField(
        label=_("default measures"),
        choices=MeasureKind.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Proposed beside every violation of this type; each must be allowed."),
    )

    class Meta:
        model = ViolationType
        fields = ["code", *CATALOGUE_FIELDS]

    def clean_code(self):
        code = self.cleaned_data["code"]
        # Said on the form, as typed; type_create refuses it again.
        if ViolationType.objects.filter(code=code).exists():
            raise ValidationError(
                _("A violation type with this code exists already: make a new version of it.")
            )
        return code

    def _post_clean(self):
        super()._post_clean()
        # The rules the service checks again when it saves and when it publishes.
        try:
            validate_type(self.instance)
        except ValidationError as exc:
            add_service_errors(self, exc, {})


def _run_publish(vtype, form, actor):
    services.type_publish(vtype=vtype, actor=actor)
    return _("%(type)s is in force; the version before it is retired.") % {"type": vtype}


def _run_new_version(vtype, form, actor):
    draft = services.type_new_version(vtype=vtype, actor=actor)
    return (
        _("Draft %(type)s made: edit it, then publish it.") % {"type": draft},
        reverse("admin:enforcement_violationtype_change", args=[draft.pk]),
    )


PUBLISH = ObjectAction(
    "publish",
    _("Publish"),
    _("Publish this version"),
    EmptyForm,
    _run_publish,
    ("enforcement.change_violationtype",),
    applies=lambda vtype: vtype.status == CatalogueStatus.DRAFT,
    bulk=True,
)
NEW_VERSION = ObjectAction(
    "new_version",
    _("New version"),
    _("Make a draft from this version"),
    EmptyForm,
    _run_new_version,
    ("enforcement.add_violationtype",),
    applies=lambda vtype: vtype.status != CatalogueStatus.DRAFT,
)
MEASURE_LISTS = ("allowed_measures", "default_measures")


@admin.register(ViolationType)
class ViolationTypeAdmin(ObjectActionsMixin, admin.ModelAdmin):
    form = ViolationTypeForm
    list_display = ["code", "version", "name", "status", "severity", "published_at"]
    list_filter = ["status", "severity"]
    search_fields = ["code", "name", "name_en"]
    list_per_page = 100
    object_actions = (PUBLISH, NEW_VERSION)
    fields = [
        "code",
        "version",
        "status",
        *CATALOGUE_FIELDS,
        "created_at",
        "created_by",
        "published_at",
        "published_by",
    ]
    readonly_fields = [
        "version",
        "status",
        "created_at",
        "created_by",
        "published_at",
        "published_by",
        "allowed_measures_display",
        "default_measures_display",
    ]

    # A published version is never edited: violations point at the version they were judged
    # under. Nothing is deleted, for the same reason.
    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (obj is None or obj.is_editable)

    def has_delete_permission(self, request, obj=None):
        return False

    def get_fields(self, request, obj=None):
        if obj is not None and not self.has_change_permission(request, obj):
            # Read-only: the measures by their names, not as a JSON list.
            return [f"{name}_display" if name in MEASURE_LISTS else name for name in self.fields]
        return self.fields

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return [*self.readonly_fields, "code"]
        return self.readonly_fields

    @admin.display(description=_("allowed measures"))
    def allowed_measures_display(self, obj):
        return _measure_names(obj.allowed_measures)

    @admin.display(description=_("default measures"))
    def default_measures_display(self, obj):
        return _measure_names(obj.default_measures)

    def save_model(self, request, obj, form, change):
        actor = Actor.for_user(request.user)
        values = {name: form.cleaned_data[name] for name in CATALOGUE_FIELDS}
        if change:
            type_update(vtype=obj, actor=actor, **values)
        else:
            created = services.type_create(code=form.cleaned_data["code"], actor=actor, **values)
            # The admin's message and redirect follow the row the service made.
            obj.pk = created.pk

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except (Conflict, ValidationError) as exc:
            # Published by someone else since the form was opened: the view's transaction rolled
            # back, nothing was saved.
            text = exc.message if isinstance(exc, Conflict) else " ".join(exc.messages)
            self.message_user(request, str(text), messages.ERROR)
            return HttpResponseRedirect(request.path)


def _measure_names(kinds) -> str:
    labels = dict(MeasureKind.choices)
    return ", ".join(str(labels.get(kind, kind)) for kind in kinds) or "—"
