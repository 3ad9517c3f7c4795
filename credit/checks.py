"""The credit app's entry checks (see accounts.entry_checks)."""

from collections.abc import Iterable
from datetime import date

from django.db.models import Q
from django.utils.translation import gettext as _

from accounts.entry_checks import Candidate, Failure, entry_check
from credit.models import SanctionEntry, SanctionKind

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
