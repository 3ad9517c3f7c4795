"""Sanctions reported to the regulators (LCM Art. 12): every executed measure to the county-level
market regulator; closures, re-registration bans and blacklistings to the provincial level too.
Also the statements of reasons in the EU Transparency Database's shape, as JSON lines."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, datetime, time

from django.utils import timezone

from enforcement.models import PROVINCIAL_MEASURES, AuthorityLevel, Measure
from enforcement.services import statements

# Executed at some point: what the party lived under, even if it was lifted or reversed since.
REPORTED_STATUSES = ("executed", "appealed", "upheld", "reversed", "lifted")

COLUMNS = (
    "measure_id",
    "puid",
    "party_id",
    "party_kind",
    "party_name",
    "platform_ref",
    "violation_type",
    "violation_type_version",
    "legal_basis",
    "measure",
    "executed_at",
    "ends_at",
    "amount_fen",
    "status",
    "reason",
)


# What a spreadsheet reads as the start of a formula (or of a cell it would run as one): such a
# cell is written with a leading apostrophe, which shows it as text (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> object:
    """A CSV cell that a spreadsheet shows and never evaluates: party names, references and
    reasons come from the platform and the reviewers, not from us."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    zone = timezone.get_current_timezone()
    return (
        datetime.combine(start, time.min, tzinfo=zone),
        datetime.combine(end, time.max, tzinfo=zone),
    )


def sanctions(start: date, end: date, level: str = AuthorityLevel.COUNTY):
    """Executed measures in the period (inclusive, Asia/Shanghai days) for a regulator's level."""
    since, until = _bounds(start, end)
    measures = (
        Measure.objects.filter(
            executed_at__gte=since, executed_at__lte=until, status__in=REPORTED_STATUSES
        )
        .select_related("party", "violation__type")
        .order_by("executed_at", "id")
    )
    if level == AuthorityLevel.PROVINCIAL:
        measures = measures.filter(kind__in=PROVINCIAL_MEASURES)
    return measures


def sanctions_csv(start: date, end: date, level: str = AuthorityLevel.COUNTY) -> Iterator[str]:
    """CSV lines, streamed (with a BOM so that Excel opens Chinese correctly)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        value = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return value

    yield "\ufeff"
    writer.writerow(COLUMNS)
    yield flush()
    for m in sanctions(start, end, level).iterator(chunk_size=500):
        vtype = m.violation.type
        row = [
            m.pk,
            m.puid,
            m.party_id,
            m.party.kind,
            m.party.name,
            m.party.platform_ref,
            vtype.code,
            vtype.version,
            vtype.legal_basis,
            m.kind,
            timezone.localtime(m.executed_at).isoformat(),
            timezone.localtime(m.ends_at).isoformat() if m.ends_at else "",
            m.amount_fen if m.amount_fen is not None else "",
            m.status,
            m.reason,
        ]
        writer.writerow([_cell(value) for value in row])
        yield flush()


def transparency_jsonl(start: date, end: date) -> Iterator[str]:
    for m in sanctions(start, end).prefetch_related("products"):
        yield json.dumps(statements.transparency_db(m), ensure_ascii=False) + "\n"
