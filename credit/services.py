"""Writes to the sanctions list."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from stdnum.cn import ric, uscc

from accounts.actors import Actor
from accounts.crypto import mask_id_number
from accounts.identity import identity_hash, normalise_identifier
from credit import events
from credit.models import SanctionEntry, SanctionKind

CSV_COLUMNS = ("kind", "name", "identifier", "authority", "reference", "decided_on", "ends_on")
MAX_IMPORT_ROWS = 100_000


@dataclass
class ImportReport:
    created: int = 0
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)


def _parse_row(row: dict) -> SanctionEntry:
    kind = (row.get("kind") or "").strip()
    if kind not in SanctionKind.values:
        raise ValueError(_("unknown kind %r") % kind)
    identifier = normalise_identifier(row.get("identifier") or "")
    if not (ric.is_valid(identifier) or uscc.is_valid(identifier)):
        raise ValueError(_("the identifier is neither a valid ID number nor a credit code"))
    try:
        decided_on = date.fromisoformat((row.get("decided_on") or "").strip())
        ends = (row.get("ends_on") or "").strip()
        ends_on = date.fromisoformat(ends) if ends else None
    except ValueError:
        raise ValueError(_("dates must be written as YYYY-MM-DD")) from None
    if ends_on and ends_on < decided_on:
        raise ValueError(_("the end is before the decision"))
    name, authority = (row.get("name") or "").strip(), (row.get("authority") or "").strip()
    reference = (row.get("reference") or "").strip()
    if not (name and authority and reference):
        raise ValueError(_("name, authority and reference are required"))
    return SanctionEntry(
        kind=kind,
        identity_hash=identity_hash(identifier),
        name=name,
        identifier_masked=mask_id_number(identifier),
        authority=authority,
        reference=reference,
        decided_on=decided_on,
        ends_on=ends_on,
    )


def sanctions_import_csv(*, content: bytes, actor: Actor) -> ImportReport:
    """Import a regulator's list. Every row is checked before anything is written: a file with
    errors imports nothing, and the report names each bad line. Identifiers are hashed and
    masked on the way in; the plaintext is not stored."""
    report = ImportReport()
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        report.errors.append(_("The file is not UTF-8 text."))
        return report
    if "\x00" in text:
        # Python's csv reader passes NULs through, and PostgreSQL refuses them in text columns:
        # the import would fail at the first save instead of here with a message.
        report.errors.append(_("The file holds NUL characters; it is not a text list."))
        return report
    reader = csv.DictReader(io.StringIO(text))
    entries = []
    try:
        missing = set(CSV_COLUMNS) - set(reader.fieldnames or [])
        if missing - {"ends_on"}:
            report.errors.append(_("Missing columns: %s") % ", ".join(sorted(missing)))
            return report
        for line, row in enumerate(reader, start=2):
            if line > MAX_IMPORT_ROWS + 1:
                report.errors.append(_("More than %d rows; split the file.") % MAX_IMPORT_ROWS)
                return report
            try:
                entries.append(_parse_row(row))
            except ValueError as exc:
                report.errors.append(_("Line %(line)d: %(error)s") % {"line": line, "error": exc})
    except csv.Error:
        # A quote left open swallows the rest of the file into one field, which the reader
        # refuses past its field limit (128 KB).
        report.errors.append(
            _(
                "The file cannot be read as CSV near line %(line)d (a quote left open, or a "
                "field over 128 KB)."
            )
            % {"line": reader.line_num + 1}
        )
        return report
    if report.errors:
        return report
    with transaction.atomic():
        created = []
        for entry in entries:
            entry.imported_by = actor.label
            try:
                with transaction.atomic():
                    entry.save()
                report.created += 1
                created.append(entry)
            except IntegrityError:
                report.duplicates += 1
        events.sanctions_recorded(created)
    return report
