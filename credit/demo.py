"""Demo sanctions list: a regulator's decision barring one person from endorsing for 3 years
(AdL Art. 38 ¶3), and her anchor application, which the entry checks stop."""

from datetime import date

from accounts import registration
from accounts.demo import ACTOR, make_resident_id
from accounts.models import FileStatus, Party, PartyKind, RegistrationFile
from anchors.services import anchor_file_create
from credit.models import SanctionEntry
from credit.services import sanctions_import_csv

BARRED = make_resident_id("440106", date(1993, 9, 9), 41, female=True)


def seed(*, context: dict, out) -> None:
    if not SanctionEntry.objects.exists():
        csv = (
            "kind,name,identifier,authority,reference,decided_on,ends_on\n"
            f"false_ad_endorsement,何某某,{BARRED},广州市天河区市场监督管理局,"
            "穗天市监处〔2025〕118号,2025-03-18,\n"
        )
        report = sanctions_import_csv(content=csv.encode(), actor=ACTOR)
        if report.errors:
            raise RuntimeError(report.errors)
    if not Party.objects.filter(kind=PartyKind.ANCHOR, platform_ref="a-0201").exists():
        file = anchor_file_create(
            name="何某某",
            id_number=BARRED,
            address="广州市天河区",
            contact_phone="13600006666",
            platform_ref="a-0201",
            actor=ACTOR,
        )
        registration.file_submit(file=file, actor=ACTOR)  # refused: false_ad_endorsement
    counts = {s: RegistrationFile.objects.filter(status=s).count() for s in FileStatus.values}
    out.write(f"Registry: {Party.objects.count()} parties; files by status: {counts}.")
