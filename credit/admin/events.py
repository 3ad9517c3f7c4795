"""Credit events and the history of scores: read-only lists. Events are never edited; a mistake
is undone by a reversing event, which the list links both ways."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from credit.admin.common import (
    GradeFilter,
    PartyIdFilter,
    ReadOnlyAdmin,
    admin_link,
    party_link,
)
from credit.models import CreditEvent, ScoreChange
from credit.scoring import rule_set_in_force

# Rules that are not priced from a table in the rule set.
PLAIN_RULES = ["violation", "evaluation", "repair", "correction", "complaint_upheld", "training"]
# Rule prefix -> the table in the rule set that prices it ("shared.blacklist" from
# points.shared_record).
PRICED_RULES = {"measure": "measure", "sanction": "sanction", "shared": "shared_record"}


class RuleFilter(admin.SimpleListFilter):
    """The rules the rule set in force names, rather than a DISTINCT over every event."""

    title = _("rule")
    parameter_name = "rule"

    def lookups(self, request, model_admin):
        _row, rules = rule_set_in_force()
        names = list(PLAIN_RULES)
        for prefix, table in PRICED_RULES.items():
            names += [f"{prefix}.{key}" for key in sorted(rules.points.get(table, {}))]
        return [(name, name) for name in names]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(rule=self.value())
        return queryset


@admin.register(CreditEvent)
class CreditEventAdmin(ReadOnlyAdmin):
    list_display = [
        "occurred_at",
        "party_display",
        "kind",
        "rule",
        "points",
        "value",
        "rule_set_version",
        "source",
        "reversal",
    ]
    list_filter = ["kind", RuleFilter, PartyIdFilter, "occurred_at", "rule_set"]
    list_select_related = ["party", "rule_set", "reverses", "reversed_by"]
    show_full_result_count = False
    # Facet counts are a COUNT per filter value over the whole table.
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 100
    fields = [
        "party_display",
        "kind",
        "rule",
        "points",
        "value",
        "rule_set_version",
        "source",
        "description",
        "occurred_at",
        "recorded_at",
        "reversal",
    ]
    readonly_fields = fields

    @admin.display(description=_("party"), ordering="party_id")
    def party_display(self, obj):
        return party_link(obj.party)

    @admin.display(description=_("rule set"), ordering="rule_set__version")
    def rule_set_version(self, obj):
        return f"v{obj.rule_set.version}"

    @admin.display(description=_("reversal"))
    def reversal(self, obj):
        if obj.reverses_id:
            return admin_link(obj.reverses, gettext("reverses #%d") % obj.reverses_id)
        # Reverse one-to-one: absent means not reversed (select_related fetched it already).
        reversing = getattr(obj, "reversed_by", None)
        if reversing is not None:
            return format_html(
                "<strong>{}</strong>",
                admin_link(reversing, gettext("reversed by #%d") % reversing.pk),
            )
        return "—"


@admin.register(ScoreChange)
class ScoreChangeAdmin(ReadOnlyAdmin):
    list_display = ["at", "party_display", "score", "grade", "rule_set_version", "cause"]
    list_filter = [GradeFilter, PartyIdFilter, "at"]
    list_select_related = ["party", "rule_set"]
    show_full_result_count = False
    # Facet counts are a COUNT per filter value over the whole table.
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 100
    fields = ["party_display", "at", "score", "grade", "rule_set_version", "cause"]
    readonly_fields = fields

    @admin.display(description=_("party"), ordering="party_id")
    def party_display(self, obj):
        return party_link(obj.party)

    @admin.display(description=_("rule set"), ordering="rule_set__version")
    def rule_set_version(self, obj):
        return f"v{obj.rule_set.version}"
