"""Filters the API's FilterSets share."""

from datetime import UTC

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field

from config.api.lookups import BIGINT_MAX


class StrictBooleanField(forms.Field):
    """`true` or `false` (also `1`, `0`, any case); blank is "not given". Anything else is an
    error: django-filter's own boolean reads `?in_force=yes` as not given, and the client gets
    the whole list believing it filtered."""

    widget = forms.TextInput
    default_error_messages = {"invalid": _("Give true or false.")}

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


class BooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": BIGINT_MAX})
class IdFilter(django_filters.NumberFilter):
    """A record's id: a whole number a primary key can hold. django-filter's number filter takes
    decimals (`?party=0.5`) and any magnitude (`?party=1e300`, which the database cannot bind:
    a 500); an id is neither."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", BIGINT_MAX)
        super().__init__(*args, **kwargs)


class _StorableIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    default_error_messages = {"overflow": _("The time is too far in the past or the future.")}

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError(self.error_messages["overflow"], code="overflow") from None


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 time the database can compare with, handed to it in UTC. With django-filter's
    own field, `0001-01-01T00:00+06:00` parses but is a year before 1 in UTC (an OverflowError,
    a 500), and an offset Python takes but PostgreSQL refuses (`-21:13`; it stops at 15:59) is
    a database error, another 500."""

    field_class = _StorableIsoDateTimeField
