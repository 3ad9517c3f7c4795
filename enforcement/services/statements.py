"""Statements of reasons: what every executed measure tells the party (LCM Art. 14: facts,
reasons, basis, duration and how to appeal), in Chinese and English, with the link to the
appeal form, and the same decision in the EU Transparency Database's shape (RULES.md §9)."""

from __future__ import annotations

import hmac
import json
from datetime import datetime

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac

from accounts.registration import add_months
from enforcement.models import Measure, MeasureKind

_SALT = "enforcement.statement"
LANGUAGES = ("zh-hans", "en")


def token(measure: Measure) -> str:
    return salted_hmac(_SALT, str(measure.puid), algorithm="sha256").hexdigest()[:32]


def token_matches(measure: Measure, given: str) -> bool:
    """Constant-time; tokens made under a fallback secret key still open the statement."""
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    for secret in secrets:
        expected = salted_hmac(_SALT, str(measure.puid), secret=secret, algorithm="sha256")
        # As bytes: compare_digest refuses a str with non-ASCII characters (a TypeError, a 500)
        # instead of answering that it does not match.
        if hmac.compare_digest(expected.hexdigest()[:32].encode(), given.encode()):
            return True
    return False


def statement_url(measure: Measure) -> str:
    path = reverse("enforcement:statement", args=[measure.puid, token(measure)])
    return settings.SITE_URL.rstrip("/") + path


def appeal_deadline(measure: Measure) -> datetime | None:
    """Appeals are open for the configured window from execution (DSA Art. 20: at least six
    months), counted in months of the Shanghai calendar: a measure executed at 00:30 on 1 March
    in Beijing (still 28 February in UTC) may be appealed until 1 September."""
    if measure.executed_at is None:
        return None
    return add_months(measure.executed_at, settings.ENFORCEMENT_APPEAL_WINDOW_MONTHS)


def _yuan(fen: int | None) -> str:
    return "" if fen is None else f"{fen / 100:,.2f}"


def _deduction(measure: Measure) -> dict:
    """What a deduction asked for, what the deposit gave and what is still owed."""
    from enforcement.models import LedgerEntry

    if measure.kind != MeasureKind.DEPOSIT_DEDUCTION:
        return {}
    entry = LedgerEntry.objects.filter(idempotency_key=f"measure:{measure.pk}:deduction").first()
    return {
        "asked_yuan": _yuan(measure.amount_fen),
        "taken_yuan": _yuan(-entry.amount_fen) if entry else "",
        "shortfall_yuan": _yuan(entry.shortfall_fen) if entry and entry.shortfall_fen else "",
    }


def context(measure: Measure) -> dict:
    vtype = measure.violation.type
    return {
        "deduction": _deduction(measure),
        "measure": measure,
        "violation": measure.violation,
        "type": vtype,
        "party": measure.party,
        "appeal_deadline": appeal_deadline(measure),
        "statement_url": statement_url(measure),
        "products": list(measure.products.all()),
    }


def render(measure: Measure, language: str) -> str:
    with translation.override(language):
        return render_to_string(f"enforcement/statement.{language}.txt", context(measure))


def webhook_payload(measure: Measure) -> dict:
    """What the platform receives with `measure.executed` (JSON-ready: ISO times, fen)."""
    vtype = measure.violation.type
    deadline = appeal_deadline(measure)
    data = {
        "measure_id": measure.pk,
        "puid": str(measure.puid),
        "party_id": measure.party_id,
        "party_platform_ref": measure.party.platform_ref,
        "kind": measure.kind,
        "status": measure.status,
        "violation_type": vtype.code,
        "violation_type_version": vtype.version,
        "legal_basis": vtype.legal_basis,
        "reason": measure.reason,
        "starts_at": measure.starts_at,
        "ends_at": measure.ends_at,
        "correct_by": measure.correct_by,
        "amount_fen": measure.amount_fen,
        "product_ids": sorted(p.pk for p in measure.products.all()),
        "content_refs": measure.content_refs,
        "appeal_deadline": deadline,
        "statement_url": statement_url(measure),
    }
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def send(measure: Measure) -> None:
    """Queue the statement for the party once the execution commits."""
    from django.db import transaction

    from enforcement import tasks

    transaction.on_commit(lambda: tasks.send_statement.delay(measure.pk))


# --- the EU Transparency Database's statement of reasons ------------------------------------------

_VISIBILITY = {
    MeasureKind.REMOVE_CONTENT: ["DECISION_VISIBILITY_CONTENT_REMOVED"],
    MeasureKind.RESTRICT_LISTING: ["DECISION_VISIBILITY_CONTENT_DISABLED"],
    MeasureKind.TRAFFIC_RESTRICTION: ["DECISION_VISIBILITY_CONTENT_DEMOTED"],
    MeasureKind.WARNING: ["DECISION_VISIBILITY_OTHER"],
    MeasureKind.NOTICE_TO_CORRECT: ["DECISION_VISIBILITY_OTHER"],
}
_PROVISION = {
    MeasureKind.LIVE_SUSPENSION: "DECISION_PROVISION_PARTIAL_SUSPENSION",
    MeasureKind.FIXED_TERM_BAN: "DECISION_PROVISION_TOTAL_SUSPENSION",
    MeasureKind.ACCOUNT_CANCELLATION: "DECISION_PROVISION_TOTAL_TERMINATION",
    MeasureKind.BLACKLIST: "DECISION_PROVISION_TOTAL_SUSPENSION",
    MeasureKind.RE_REGISTRATION_BAN: "DECISION_PROVISION_TOTAL_TERMINATION",
}
_ACCOUNT = {
    MeasureKind.FIXED_TERM_BAN: "DECISION_ACCOUNT_SUSPENDED",
    MeasureKind.BLACKLIST: "DECISION_ACCOUNT_SUSPENDED",
    MeasureKind.ACCOUNT_CANCELLATION: "DECISION_ACCOUNT_TERMINATED",
    MeasureKind.RE_REGISTRATION_BAN: "DECISION_ACCOUNT_TERMINATED",
}
_MONETARY = {MeasureKind.DEPOSIT_DEDUCTION: "DECISION_MONETARY_OTHER"}
_SOURCE = {
    "complaint": "SOURCE_ARTICLE_16",
    "inspection": "SOURCE_VOLUNTARY",
    "alert": "SOURCE_VOLUNTARY",
    "reviewer": "SOURCE_VOLUNTARY",
    "authority": "SOURCE_OTHER_NOTIFICATION",
}


def transparency_db(measure: Measure) -> dict:
    """The decision in the shape of the EU Transparency Database's statement-of-reasons API."""
    vtype = measure.violation.type
    data: dict = {
        "puid": str(measure.puid),
        "decision_facts": measure.reason,
        "category": vtype.dsa_category or "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
        "source_type": _SOURCE.get(measure.violation.source, "SOURCE_VOLUNTARY"),
        "automated_detection": "Yes" if measure.automated_detection else "No",
        "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
        "application_date": timezone.localtime(measure.executed_at or measure.proposed_at)
        .date()
        .isoformat(),
        "content_type": ["CONTENT_TYPE_PRODUCT"]
        if measure.products.exists()
        else ["CONTENT_TYPE_OTHER"],
        "territorial_scope": ["CN"],
    }
    if vtype.illegal:
        data["decision_ground"] = "DECISION_GROUND_ILLEGAL_CONTENT"
        data["illegal_content_legal_ground"] = vtype.legal_basis
        data["illegal_content_explanation"] = measure.reason
    else:
        data["decision_ground"] = "DECISION_GROUND_INCOMPATIBLE_CONTENT"
        data["incompatible_content_ground"] = vtype.legal_basis
        data["incompatible_content_explanation"] = measure.reason
    end = timezone.localtime(measure.ends_at).date().isoformat() if measure.ends_at else None
    if measure.kind in _VISIBILITY:
        data["decision_visibility"] = _VISIBILITY[measure.kind]
        data["end_date_visibility_restriction"] = end
    if measure.kind in _PROVISION:
        data["decision_provision"] = _PROVISION[measure.kind]
        data["end_date_service_restriction"] = end
    if measure.kind in _ACCOUNT:
        data["decision_account"] = _ACCOUNT[measure.kind]
        data["end_date_account_restriction"] = end
    if measure.kind in _MONETARY:
        data["decision_monetary"] = _MONETARY[measure.kind]
        data["decision_monetary_other"] = "Deduction from the seller's deposit"
        data["end_date_monetary_restriction"] = None
    if not any(
        k in data
        for k in (
            "decision_visibility",
            "decision_provision",
            "decision_account",
            "decision_monetary",
        )
    ):
        # Referrals and similar: the statement still records a decision.
        data["decision_visibility"] = ["DECISION_VISIBILITY_OTHER"]
        data["decision_visibility_other"] = measure.get_kind_display()
    return data
