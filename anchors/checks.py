"""The anchors' entry checks (see accounts.entry_checks)."""

from collections.abc import Iterable
from datetime import date

from django.utils.translation import gettext as _

from accounts.entry_checks import Candidate, Failure, entry_check
from accounts.models import PartyKind
from anchors.models import Topic

# Minors Protection Law Art. 76 and the 2021 Measures Art. 17.
MINIMUM_AGE = 16
ADULT_AGE = 18


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


@entry_check("anchor_age", kinds=(PartyKind.ANCHOR,))
def anchor_age(candidate: Candidate) -> Iterable[Failure]:
    birth = candidate.details.get("birth_date")
    if birth is None:
        return [Failure("birth_date_missing", _("The birth date is unknown."), "id_number")]
    age = age_on(birth, candidate.today)
    if age < MINIMUM_AGE:
        return [
            Failure(
                "under_age",
                _("Anchors must be at least %(min)d years old; this one is %(age)d.")
                % {"min": MINIMUM_AGE, "age": age},
                "id_number",
            )
        ]
    if age < ADULT_AGE:
        consent = candidate.details.get("guardian_consent")
        if not consent:
            return [
                Failure(
                    "guardian_consent_missing",
                    _("An anchor aged 16 or 17 needs a guardian's consent."),
                    "guardian_consent",
                )
            ]
        if not consent.get("document_id"):
            return [
                Failure(
                    "guardian_consent_unsigned",
                    _("Upload the guardian's signed consent form."),
                    "guardian_consent",
                )
            ]
    return []


@entry_check("qualifications", kinds=(PartyKind.ANCHOR,))
def qualifications(candidate: Candidate) -> Iterable[Failure]:
    """Medicine, finance, law and education need a filed professional qualification."""
    held = {q["topic"] for q in candidate.details.get("qualifications", [])}
    return [
        Failure(
            "qualification_missing",
            _("Streaming on %(topic)s needs a filed professional qualification.")
            % {"topic": Topic(topic).label},
            "qualifications",
        )
        for topic in candidate.details.get("topics", [])
        if topic not in held
    ]


@entry_check("ai_presenter_operator", kinds=(PartyKind.ANCHOR,))
def ai_presenter_operator(candidate: Candidate) -> Iterable[Failure]:
    """LCM Art. 37: an AI-generated presenter is operated by a registered party."""
    if candidate.details.get("is_ai_presenter") and not candidate.details.get("ai_operator_id"):
        return [
            Failure(
                "ai_operator_missing",
                _("Name the party that operates this AI-generated presenter."),
                "ai_operator",
            )
        ]
    return []
