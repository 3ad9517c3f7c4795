"""The public credit API's output: the same fields as the public pages, and nothing else.

Read from `credit.selectors` rows (annotated parties, dataclasses): explicit read-only
serializers, never a ModelSerializer, so that a field added to a model is not published by
accident.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import PartyKind
from credit.models import EventKind
from credit.selectors import Standing


class PartyRowOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=PartyKind.choices)
    grade = serializers.CharField()
    score = serializers.IntegerField()


class RecordLineOut(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=[(k.value, k.label) for k in (EventKind.VIOLATION, EventKind.MEASURE)],
        help_text=_("A confirmed violation or an executed measure."),
    )
    label = serializers.CharField(
        help_text=_("The violation type broken, or the measure taken, in plain words.")
    )
    occurred_on = serializers.DateField()
    reversed = serializers.BooleanField(help_text=_("Undone on appeal; it no longer counts."))


class EvaluationSummaryOut(serializers.Serializer):
    average = serializers.DecimalField(
        max_digits=3,
        decimal_places=2,
        allow_null=True,
        help_text=_("Stars, 1 to 5, weighted toward recent evaluations."),
    )
    count = serializers.IntegerField(help_text=_("Evaluations in the window."))
    window_days = serializers.IntegerField()
    min_count = serializers.IntegerField(
        help_text=_("Evaluations needed in the window before they move the score.")
    )
    counted = serializers.BooleanField()
    points = serializers.IntegerField(help_text=_("Points the evaluations add or take."))


class HistoryLineOut(serializers.Serializer):
    at = serializers.DateTimeField()
    score = serializers.IntegerField()
    grade = serializers.CharField()
    rule_set_version = serializers.IntegerField()
    cause = serializers.CharField()


class PartyProfileOut(serializers.Serializer):
    id = serializers.IntegerField(source="party.id")
    name = serializers.CharField(source="party.name")
    kind = serializers.ChoiceField(source="party.kind", choices=PartyKind.choices)
    grade = serializers.CharField()
    score = serializers.IntegerField()
    scored = serializers.BooleanField(
        help_text=_(
            "False until something has counted for or against the party: it then has the "
            "scale's base score."
        )
    )
    rule_set_version = serializers.IntegerField(
        help_text=_("The version of the credit rules the score was computed under.")
    )
    computed_at = serializers.DateTimeField(allow_null=True)
    points_deducted = serializers.IntegerField(source="deductions")
    points_added = serializers.IntegerField(source="additions")
    evaluation_points = serializers.IntegerField()
    record = RecordLineOut(many=True)
    evaluations = EvaluationSummaryOut()
    history = HistoryLineOut(many=True)


class RuleSetOut(serializers.Serializer):
    version = serializers.IntegerField()
    title = serializers.CharField(source="row.title")
    summary = serializers.CharField(source="row.summary")
    published_at = serializers.DateTimeField(source="row.published_at")
    effective_from = serializers.DateTimeField(source="row.effective_from")
    effective_until = serializers.DateTimeField(allow_null=True)
    standing = serializers.ChoiceField(choices=Standing.CHOICES)


class RuleSetDetailOut(RuleSetOut):
    rules = serializers.JSONField(
        source="row.rules",
        help_text=_(
            "The rule set as published: scale and grades, points per event, decay, repair, "
            "evaluation weighting, the agency's share and the grade each category needs to go "
            "live."
        ),
    )
