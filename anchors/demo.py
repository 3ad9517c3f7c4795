"""Demo anchors and agencies: files in several states, a 16-year-old with guardian consent,
a qualified medical presenter, an AI presenter, training records, a live suspension."""

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from accounts import registration, services
from accounts.demo import ACTOR, demo_image, drive_to, make_credit_code, make_resident_id
from accounts.models import FileStatus, Party, PartyKind, RestrictionKind
from anchors.services import (
    GuardianData,
    QualificationData,
    agency_link_anchor,
    agency_link_merchant,
    anchor_file_create,
    training_record,
)
from merchants.models import EntityType
from merchants.services import LicenceData, business_file_create

AGENCIES = [
    ("杭州星芒文化传媒有限公司", "330106"),
    ("广州南风网络科技有限公司", "440106"),
]
# name, region, birth date, female, status, agency index
ANCHORS = [
    ("李晓薇", "330106", date(1995, 3, 14), True, FileStatus.APPROVED, 0),
    ("王子涵", "440106", date(1998, 7, 2), False, FileStatus.APPROVED, 1),
    ("陈思远", "510107", date(1992, 11, 23), False, FileStatus.APPROVED, 0),
    ("赵雨桐", "320583", date(2000, 1, 30), True, FileStatus.SUBMITTED, None),
    ("刘一鸣", "110105", date(1989, 5, 8), False, FileStatus.IN_REVIEW, 1),
    ("孙悦", "310115", date(1996, 6, 18), True, FileStatus.DRAFT, None),
]


def _agencies() -> list[Party]:
    agencies = []
    for serial, (name, region) in enumerate(AGENCIES, start=1):
        ref = f"g-{serial:04d}"
        party = Party.objects.filter(kind=PartyKind.AGENCY, platform_ref=ref).first()
        if party is None:
            file = business_file_create(
                kind=PartyKind.AGENCY,
                entity_type=EntityType.ENTERPRISE,
                name=name,
                credit_code=make_credit_code(region, 20_000_000 + serial),
                representative="周明",
                address=f"{name[:2]}市网红产业园 {serial} 栋",
                contact_phone=f"0571-8888{serial:04d}",
                licences=[
                    LicenceData("business", f"AG{serial:06d}", "市场监督管理局", date(2018, 3, 1))
                ],
                platform_ref=ref,
                actor=ACTOR,
            )
            drive_to(file, FileStatus.APPROVED)
            party = file.party
        agencies.append(party)
    return agencies


def _anchor(ref, **kwargs):
    party = Party.objects.filter(kind=PartyKind.ANCHOR, platform_ref=ref).first()
    if party is not None:
        return None
    return anchor_file_create(platform_ref=ref, actor=ACTOR, **kwargs)


def seed(*, context: dict, out) -> None:
    agencies = _agencies()
    merchants = context.get("merchants") or list(Party.objects.filter(kind=PartyKind.MERCHANT))
    for agency, merchant in zip(agencies, merchants[:2], strict=False):
        agency_link_merchant(agency=agency, merchant=merchant, actor=ACTOR)

    for serial, (name, region, birth, female, status, agency) in enumerate(ANCHORS, start=1):
        file = _anchor(
            f"a-{serial:04d}",
            name=name,
            id_number=make_resident_id(region, birth, serial, female),
            address=f"{name}的常住地址",
            contact_phone=f"1370000{serial:04d}",
            agency=agencies[agency] if agency is not None else None,
        )
        if file is None:
            continue
        registration.document_add(
            file=file, kind="id_front", upload=demo_image(f"ID {serial}"), actor=ACTOR
        )
        drive_to(file, status)
        if status == FileStatus.APPROVED:
            training_record(
                anchor=file.party,
                kind="before_first_stream",
                completed_on=timezone.localdate() - timedelta(days=60),
                provider="平台合规培训中心",
                hours=Decimal("4"),
                actor=ACTOR,
            )

    # A 16-year-old with her guardian's signed consent (Minors Protection Law Art. 76).
    minor = _anchor(
        "a-0101",
        name="周佳怡",
        id_number=make_resident_id("330782", date(2010, 1, 20), 31, True),
        address="浙江省义乌市稠城街道",
        contact_phone="13700009999",
        guardian=GuardianData(
            "周建华", "父亲", make_resident_id("110101", date(1980, 2, 2), 32, False)
        ),
    )
    if minor is not None:
        consent = registration.document_add(
            file=minor, kind="guardian_consent", upload=demo_image("consent"), actor=ACTOR
        )
        from anchors.services import anchor_file_update

        anchor_file_update(
            file=minor,
            actor=ACTOR,
            guardian=GuardianData(
                "周建华",
                "父亲",
                make_resident_id("110101", date(1980, 2, 2), 32, False),
                document_id=consent.pk,
            ),
        )
        drive_to(minor, FileStatus.APPROVED)

    # A doctor who talks about health products: medicine needs a filed qualification.
    doctor = _anchor(
        "a-0102",
        name="吴医生",
        id_number=make_resident_id("110105", date(1983, 8, 8), 33, False),
        address="北京市朝阳区",
        contact_phone="13700008888",
        job_title="主治医师",
        topics=["medicine"],
        qualifications=[QualificationData("medicine", "医师资格证书", "110110000012345")],
    )
    if doctor is not None:
        drive_to(doctor, FileStatus.APPROVED)

    # An AI-generated presenter, operated by a merchant (LCM Art. 37).
    operator = merchants[0] if merchants else None
    if operator is not None:
        ai = _anchor(
            "a-0103",
            name="小西（AI 数字人）",
            id_number=make_resident_id("330106", date(1990, 10, 10), 34, True),
            address="杭州市西湖区",
            contact_phone="13700007777",
            is_ai_presenter=True,
            ai_operator=operator,
        )
        if ai is not None:
            drive_to(ai, FileStatus.SUBMITTED)

    # A live suspension in force: guided buyers to WeChat for a private transfer.
    suspended = Party.objects.filter(kind=PartyKind.ANCHOR, platform_ref="a-0003").first()
    if suspended is not None and not suspended.restrictions.exists():
        services.restriction_impose(
            party=suspended,
            kind=RestrictionKind.LIVE,
            reason="直播中引导消费者添加微信私下交易，暂停直播功能 30 日。",
            legal_basis="直播电商监督管理办法 第十二条",
            ends_at=timezone.now() + timedelta(days=30),
            actor=ACTOR,
        )
    # Every approved anchor has had the training required before a first stream (LCM Art. 10).
    for anchor in Party.objects.filter(
        kind=PartyKind.ANCHOR, approved_at__isnull=False, training_records__isnull=True
    ):
        training_record(
            anchor=anchor,
            kind="before_first_stream",
            completed_on=timezone.localdate() - timedelta(days=20),
            provider="平台合规培训中心",
            hours=Decimal("4"),
            actor=ACTOR,
        )
    for anchor in Party.objects.filter(kind=PartyKind.ANCHOR, platform_ref="a-0002"):
        agency_link_anchor(agency=agencies[1], anchor=anchor, actor=ACTOR)
