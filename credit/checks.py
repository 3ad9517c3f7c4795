"""The credit app's entry checks (see accounts.entry_checks)."""

from collections.abc import Iterable
from datetime import date

from django.db.models import Q
from django.utils.translation import gettext as _

from accounts.entry_checks import Candidate, Failure, entry_check
from credit.models import CreditScore, SanctionEntry, SanctionKind
from credit.scoring import rule_set_in_force

# AdL Art. 38 ¶3.
ENDORSEMENT_BAR_YEARS = 3


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


@entry_check("false_ad_endorsement")
def false_ad_endorsement(candidate: Candidate) -> Iterable[Failure]:
    since = _years_before(candidate.today, ENDORSEMENT_BAR_YEARS)
    entry = (
        SanctionEntry.objects.filter(
            identity_hash=candidate.identity_hash, kind=SanctionKind.FALSE_AD_ENDORSEMENT
        )
        .filter(Q(decided_on__gt=since) | Q(ends_on__gte=candidate.today))
        .order_by("-decided_on")
        .first()
    )
    if entry is None:
        return []
    return [
        Failure(
            "false_ad_endorsement",
            _(
                "Punished on %(date)s (%(reference)s, %(authority)s) for endorsing a false "
                "advertisement: barred from endorsing for 3 years (Advertising Law Art. 38)."
            )
            % {
                "date": entry.decided_on.isoformat(),
                "reference": entry.reference,
                "authority": entry.authority,
            },
        )
    ]


@entry_check("credit_grade")
def credit_grade(candidate: Candidate) -> Iterable[Failure]:
    """The seeds: "credit should be the entry threshold". An identity already known here (in any
    role) whose grade is below the rule set's entry grade is not admitted."""
    _row, rules = rule_set_in_force()
    scores = CreditScore.objects.filter(party__identity_hash=candidate.identity_hash).values_list(
        "grade", "score"
    )
    worst = max(scores, key=lambda row: rules.rank(row[0]), default=None)
    if worst is None or rules.rank(worst[0]) <= rules.rank(rules.entry_grade):
        return []
    return [
        Failure(
            "credit_grade",
            _(
                "This identity's credit grade is %(grade)s (%(score)s points); the published "
                "credit rules admit grade %(needed)s or better."
            )
            % {"grade": worst[0], "score": worst[1], "needed": rules.entry_grade},
        )
    ]


@entry_check("shared_blacklist")
def shared_blacklist(candidate: Candidate) -> Iterable[Failure]:
    """Joint discipline (LCM Art. 14): an identity another platform of the consortium has
    blacklisted, and not lifted, is not admitted here either (credit/sharing.py)."""
    from credit.sharing import shared_blacklist_for_identifier

    if not candidate.identifier:
        return []
    record = shared_blacklist_for_identifier(candidate.identifier, today=candidate.today)
    if record is None:
        return []
    until = (
        _("until %(date)s") % {"date": record.valid_until.isoformat()}
        if record.valid_until
        else _("indefinitely")
    )
    return [
        Failure(
            "shared_blacklist",
            _(
                "%(platform)s, a platform of the credit-sharing consortium, has blacklisted this "
                "identity %(until)s (joint discipline)."
            )
            % {"platform": record.peer.name, "until": until},
        )
    ]
