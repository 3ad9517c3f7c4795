"""The half-year identity report (LCM Art. 9): every January and July the platform reports the
identity information of its live-commerce operators and anchors to the provincial regulator.

The report carries full identity numbers -- it is for the regulator -- so producing it in the
admin needs the `export_identity_report` permission and is written to the admin log, where
auditors see who exported which period and when.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook

from accounts.models import PartyKind, RegistrationFile
from accounts.registration import file_id_number

COLUMNS = (
    ("kind", gettext_lazy("Kind")),
    ("name", gettext_lazy("Name")),
    ("identifier", gettext_lazy("Credit code or ID number")),
    ("representative", gettext_lazy("Legal representative or operator")),
    ("address", gettext_lazy("Business address or habitual residence")),
    ("contact_phone", gettext_lazy("Contact phone")),
    ("contact_email", gettext_lazy("Contact email")),
    ("agency", gettext_lazy("Agency")),
    ("approved_at", gettext_lazy("Approved at")),
    ("platform_ref", gettext_lazy("Platform reference")),
)


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @classmethod
    def parse(cls, text: str) -> Period:
        """'2026H1' (January-June) or '2026H2' (July-December)."""
        try:
            year, half = int(text[:4]), text[4:].upper()
        except ValueError:
            raise ValueError(_("Write the period as 2026H1 or 2026H2.")) from None
        if half == "H1":
            return cls(date(year, 1, 1), date(year, 6, 30))
        if half == "H2":
            return cls(date(year, 7, 1), date(year, 12, 31))
        raise ValueError(_("Write the period as 2026H1 or 2026H2."))

    @classmethod
    def last_completed(cls, today: date | None = None) -> Period:
        today = today or timezone.localdate()
        if today.month <= 6:
            return cls(date(today.year - 1, 7, 1), date(today.year - 1, 12, 31))
        return cls(date(today.year, 1, 1), date(today.year, 6, 30))


def report_files(period: Period) -> QuerySet[RegistrationFile]:
    """Merchants and anchors whose file was in force at the end of the period."""
    end = timezone.make_aware(datetime.combine(period.end, time.max))
    return (
        RegistrationFile.objects.filter(
            kind__in=[PartyKind.MERCHANT, PartyKind.ANCHOR],
            sealed_version__isnull=False,
            party__approved_at__lte=end,
        )
        .select_related("party", "merchant_profile", "sealed_version")
        .prefetch_related("party__agency_memberships__agency")
        .order_by("kind", "id")
    )


def rows(period: Period):
    for file in report_files(period).iterator(chunk_size=2000):
        profile = getattr(file, "merchant_profile", None)
        memberships = [m for m in file.party.agency_memberships.all() if m.ended_at is None]
        yield {
            "kind": file.get_kind_display(),
            "name": file.name,
            "identifier": file.credit_code or file_id_number(file),
            "representative": profile.representative if profile else "",
            "address": file.address,
            "contact_phone": file.contact_phone,
            "contact_email": file.contact_email,
            "agency": memberships[0].agency.name if memberships else "",
            "approved_at": timezone.localtime(file.party.approved_at).strftime("%Y-%m-%d"),
            "platform_ref": file.party.platform_ref,
        }


def as_csv(period: Period) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([label for _key, label in COLUMNS])
    for row in rows(period):
        writer.writerow([row[key] for key, _label in COLUMNS])
    # With a BOM, so that spreadsheet programs open the Chinese text correctly.
    return buffer.getvalue().encode("utf-8-sig")


def as_xlsx(period: Period) -> bytes:
    workbook = Workbook(write_only=True)
    half = "H1" if period.start.month == 1 else "H2"
    sheet = workbook.create_sheet(title=f"{period.start:%Y}-{half}")
    sheet.append([str(label) for _key, label in COLUMNS])
    for row in rows(period):
        # Identifiers as text: a spreadsheet would turn an 18-digit number into 3.3E+17.
        sheet.append([str(row[key]) for key, _label in COLUMNS])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
