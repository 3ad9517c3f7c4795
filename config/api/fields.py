"""Serializer fields the API shares: ids that a primary key can hold, the party a key is bound
to, and text and dates taken only as the schema describes them."""

from django.db import models
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.utils import html

from config.api.lookups import BIGINT_MAX


class IdField(serializers.IntegerField):
    """A record's id in a body: a whole number a primary key can hold, as IdFilter
    (config.api.filters) has it for a query. A larger one names nothing, and SQLite cannot even
    bind it in an `IN (...)` (an OverflowError, a 500): it is a field error here instead."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", BIGINT_MAX)
        super().__init__(**kwargs)


def bound_party_id(serializer: serializers.Serializer) -> int | None:
    """The party the request's API key is bound to, or None for the platform's own keys."""
    request = serializer.context.get("request")
    if request is None:
        request = getattr(serializer.context.get("view"), "request", None)
    return getattr(getattr(request, "auth", None), "party_id", None)


class StrictCharField(serializers.CharField):
    """Text, and only text: REST framework's CharField also takes a number and keeps its digits,
    which the schema's `type: string` does not allow."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer, and only that: REST framework's IntegerField also takes the strings
    "19900" and "１９９００" and the number 19900.0, which the schema's `type: integer` does not
    allow (an amount in fen sent as text is a client's mistake to be told of, not guessed)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictDateField(serializers.DateField):
    """A date, or the field left out: in form data REST framework reads an empty value as null,
    which the schema's `format: date` does not allow (a JSON body sends null for none)."""

    def get_value(self, dictionary):
        if html.is_html_input(dictionary) and dictionary.get(self.field_name) == "":
            return ""
        return super().get_value(dictionary)


class StrictModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer whose text and date fields take only what the schema says they take."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.DateField: StrictDateField,
    }


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 time that carries its UTC offset: a complaint's clocks count from the day in
    China the time falls on, a stream's signals are ordered by it, and a time without an offset
    could be any of two days (and a naive time at the edge of the calendar, 0001-01-01T00:00,
    cannot even be placed in UTC: REST framework's own check raised an OverflowError, a 500)."""

    default_error_messages = {
        "naive": _("Give the time with its UTC offset, e.g. 2025-09-29T10:15:00+08:00."),
    }

    def to_internal_value(self, value):
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:
                # Well formed but no real time (12:99): the parent's "invalid" says so.
                parsed = None
            if parsed is not None and parsed.tzinfo is None:
                self.fail("naive")
        return super().to_internal_value(value)
