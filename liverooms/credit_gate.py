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


def _on_sale(context: GateContext) -> list[tuple[int, str]]:
    """(product id, category) of the goods asked for. An id that names nothing (only a key bound
    to a party gets this far with one) counts in the default category, as any product the key
    does not know the category of: so its answer does not tell it from another's product."""
    return [(p.pk, p.category) for p in context.products] + [
        (pk, "default") for pk in context.missing_product_ids
    ]


@gate_loader
def load_grades(context: GateContext) -> None:
    row, rules = rule_set_in_force()
    categories = {category for _pk, category in _on_sale(context)} or {"default"}
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
        if rules.rank(grade) <= rules.rank(needed):
            continue
        # Named per product whose category asks for more, so that the platform sees which goods
        # keep the party off the air, and a key bound to a party is told of another merchant's
        # product only that it is not cleared (services.reasons_for_party).
        blocking = [
            (product_id, rules.live_grade(category))
            for product_id, category in _on_sale(context)
            if rules.rank(grade) > rules.rank(rules.live_grade(category))
        ]
        for product_id, product_needs in blocking:
            yield Reason(
                "credit_grade",
                _(
                    "Credit grade %(grade)s is below the %(needed)s the published credit rules "
                    "require for selling product %(product)s."
                )
                % {"grade": grade, "needed": product_needs, "product": product_id},
                party_id=party_id,
                product_id=product_id,
            )
        if not blocking:  # no goods on sale: the default category's grade
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
