"""Entry checks for registration files: a registry every app adds to.

Each check has a machine code, applies to some kinds of party, and returns the failures it finds
(empty when it passes). All checks run and all failures are reported together, at submission and
again at approval -- a ban imposed in between must stop the approval. `accounts` registers the
identity checks here; `merchants`, `anchors` and `credit` register theirs (licences, age and
guardian consent, sanctions lists) when their apps load.

Checks must be index lookups: they run against a registry of millions of parties.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import date

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Party, PartyKind, Restriction, RestrictionKind


@dataclass(frozen=True)
class Failure:
    code: str
    message: str
    field: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Candidate:
    """What the checks look at: a file about to be created, submitted or approved.

    `identifier` is the plaintext ID number or credit code, held in memory only for the checks;
    `details` carries the kind-specific parts (licences, birth date, guardian consent ...).
    """

    kind: str
    identity_hash: str
    identifier: str
    party_id: int | None = None
    file_id: int | None = None
    details: dict = field(default_factory=dict)
    today: date = field(default_factory=lambda: timezone.localdate())


Check = Callable[[Candidate], Iterable[Failure]]


@dataclass(frozen=True)
class RegisteredCheck:
    code: str
    kinds: frozenset[str]
    function: Check


_registry: dict[str, RegisteredCheck] = {}


def entry_check(code: str, *, kinds: Iterable[str] = PartyKind.values) -> Callable[[Check], Check]:
    def register(function: Check) -> Check:
        _registry[code] = RegisteredCheck(code, frozenset(kinds), function)
        return function

    return register


def registered_checks() -> list[RegisteredCheck]:
    return list(_registry.values())


def run_entry_checks(candidate: Candidate, *, only: Iterable[str] | None = None) -> list[Failure]:
    """Every registered check for the candidate's kind (or only the checks named), all failures
    together. `only` names checks by their registered code, not by the failures' codes."""
    chosen = set(only) if only is not None else None
    failures: list[Failure] = []
    for check in _registry.values():
        if candidate.kind in check.kinds and (chosen is None or check.code in chosen):
            failures.extend(check.function(candidate))
    return failures


# --- the registry's own checks ----------------------------------------------------------------

BARRING = (RestrictionKind.RE_REGISTRATION, RestrictionKind.BLACKLIST)


@entry_check("identity_banned")
def _identity_banned(candidate: Candidate) -> Iterable[Failure]:
    """A re-registration ban or a blacklisting of the same identity, under any kind of party
    (LCM Arts. 12 and 14: the platform prevents evasion through new accounts)."""
    banned = (
        Restriction.objects.in_force()
        .filter(party__identity_hash=candidate.identity_hash, kind__in=BARRING)
        .values_list("kind", "ends_at")
        .first()
    )
    if banned is None:
        return []
    kind, ends_at = banned
    until = (
        _("until %(date)s") % {"date": timezone.localdate(ends_at).isoformat()}
        if ends_at
        else _("indefinitely")
    )
    if kind == RestrictionKind.BLACKLIST:
        message = _("This identity is blacklisted %(until)s.") % {"until": until}
        return [Failure("blacklisted", message)]
    message = _("This identity is banned from registering again %(until)s.") % {"until": until}
    return [Failure("re_registration_banned", message)]


@entry_check("duplicate_identity")
def _duplicate_identity(candidate: Candidate) -> Iterable[Failure]:
    """Another party of the same kind already holds this identity."""
    others = Party.objects.filter(kind=candidate.kind, identity_hash=candidate.identity_hash)
    if candidate.party_id is not None:
        others = others.exclude(pk=candidate.party_id)
    if others.exists():
        return [
            Failure(
                "duplicate_identity",
                _("A %(kind)s with this identity is already registered.")
                % {"kind": PartyKind(candidate.kind).label},
                "identifier",
            )
        ]
    return []
