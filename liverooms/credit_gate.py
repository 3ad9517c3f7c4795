"""The go-live gate consults credit (issue 7; the seeds: "combining credit with live
permissions"): every party in the session -- the room's owner, the anchors, the merchants whose
goods are shown -- needs at least the grade the published rule set requires for the riskiest
category on sale. The grades come with the gate's one read (`GateContext.grades`); a party never
scored has the scale's base."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext as _

from credit.scoring import rule_set_in_force
from credit.sharing import shared_blacklisted_parties
from liverooms.gate import GateContext, Reason, gate_check, gate_loader


@gate_loader
def load_grades(context: GateContext) -> None:
    row, rules = rule_set_in_force()
    categories = {product.category for product in context.products} or {"default"}
    # The strictest: the best grade any category on sale asks for.
    needed = min((rules.live_grade(c) for c in categories), key=rules.rank)
    ids = [party.pk for party in context.involved()]
    # A score computed under an earlier rule set (a new one took effect and the nightly
    # recompute has not reached it yet) is graded on the scale in force: its grade may not
    # exist any more, and would otherwise rank below every grade and keep the party off the air.
    grades = {
        party_id: grade if rule_set_id == row.pk else rules.grade(score)
        for party_id, (grade, score, rule_set_id) in context.grades.items()
    }
    context.extra["credit"] = (rules, needed, ids, grades)


@gate_check("credit_grade")
def credit_grade(context: GateContext) -> Iterable[Reason]:
    if "credit" not in context.extra:
        return
    rules, needed, ids, scores = context.extra["credit"]
    base_grade = rules.grade(rules.base)
    for party_id in ids:
        grade = scores.get(party_id, base_grade)
        if rules.rank(grade) > rules.rank(needed):
            yield Reason(
                "credit_grade",
                _(
                    "Credit grade %(grade)s is below the %(needed)s the published credit rules "
                    "require for the goods on sale."
                )
                % {"grade": grade, "needed": needed},
                party_id=party_id,
            )


# --- joint discipline: peers' blacklists (credit/sharing.py) --------------------------------------


@gate_loader
def load_shared_blacklists(context: GateContext) -> None:
    """Another platform's blacklisting of any involved party. The few parties peers have
    blacklisted are kept by each process for a minute (credit.sharing), so the gate's one read
    stays its only one."""
    blacklisted = shared_blacklisted_parties(today=context.today)
    context.extra["shared_blacklist"] = {
        party.pk: blacklisted[party.pk] for party in context.involved() if party.pk in blacklisted
    }


@gate_check("shared_blacklist")
def shared_blacklist(context: GateContext) -> Iterable[Reason]:
    for party_id, (platform, until) in sorted(context.extra.get("shared_blacklist", {}).items()):
        yield Reason(
            "shared_blacklist",
            _(
                "%(platform)s, a platform of the credit-sharing consortium, has blacklisted this "
                "party %(until)s (joint discipline)."
            )
            % {
                "platform": platform,
                "until": _("until %(date)s") % {"date": until.isoformat()}
                if until
                else _("indefinitely"),
            },
            party_id=party_id,
        )
