"""Demo merchant files, one or more in every state of the review workflow."""

from datetime import date, timedelta

from django.utils import timezone

from accounts import registration
from accounts.demo import ACTOR, demo_image, drive_to, make_credit_code, make_resident_id
from accounts.models import FileStatus, Party, PartyKind
from merchants.models import EntityType
from merchants.services import LicenceData, business_file_create

# name, region, categories, target status
MERCHANTS = [
    ("杭州西子良品电子商务有限公司", "330106", ["general", "apparel"], FileStatus.APPROVED),
    ("义乌市小商品优选贸易有限公司", "330782", ["general"], FileStatus.APPROVED),
    ("广州花城美妆科技有限公司", "440106", ["cosmetics"], FileStatus.SUBMITTED),
    ("深圳湾数码生活有限公司", "440305", ["electronics"], FileStatus.IN_REVIEW),
    ("成都天府茶业有限公司", "510107", ["food", "agriculture"], FileStatus.CHANGES_REQUESTED),
    ("苏州姑苏丝绸制品有限公司", "320508", ["apparel"], FileStatus.REJECTED),
    ("北京京味食品有限公司", "110105", ["food"], FileStatus.DRAFT),
    ("上海浦江母婴用品有限公司", "310115", ["infant_formula", "general"], FileStatus.APPROVED),
    ("宁波港城家居用品有限公司", "330203", ["general"], FileStatus.RESUBMITTED),
]


def _licences(categories, serial):
    today = timezone.localdate()
    licences = [
        LicenceData("business", f"BL{serial:08d}", "市场监督管理局", date(2019, 5, 1)),
    ]
    if set(categories) & {"food", "health_food", "infant_formula"}:
        licences.append(
            LicenceData(
                "food_business",
                f"JY1{serial:013d}",
                "市场监督管理局",
                today - timedelta(days=700),
                today + timedelta(days=1100),
            )
        )
    return licences


def seed(*, context: dict, out) -> None:
    files = []
    for serial, (name, region, categories, status) in enumerate(MERCHANTS, start=1):
        ref = f"m-{serial:04d}"
        if Party.objects.filter(kind=PartyKind.MERCHANT, platform_ref=ref).exists():
            continue
        file = business_file_create(
            kind=PartyKind.MERCHANT,
            entity_type=EntityType.ENTERPRISE,
            name=name,
            credit_code=make_credit_code(region, 10_000_000 + serial),
            representative="王建国",
            registered_address=f"{name[:2]}市注册地址 {serial} 号",
            address=f"{name[:2]}市直播基地 {serial} 号楼",
            contact_phone=f"1380000{serial:04d}",
            contact_email=f"compliance{serial}@merchant.example",
            categories=categories,
            licences=_licences(categories, serial),
            platform_ref=ref,
            actor=ACTOR,
        )
        registration.document_add(
            file=file, kind="business_licence", upload=demo_image(f"BL {serial}"), actor=ACTOR
        )
        files.append(drive_to(file, status))

    # A natural person selling farm produce, approved; and one approved file that has reported
    # a change of address, now waiting for its LCM Art. 15 review.
    ref = "m-0101"
    if not Party.objects.filter(kind=PartyKind.MERCHANT, platform_ref=ref).exists():
        farmer = business_file_create(
            kind=PartyKind.MERCHANT,
            entity_type=EntityType.NATURAL_PERSON,
            name="赵大山",
            id_number=make_resident_id("510122", date(1978, 4, 12), 21, female=False),
            representative="赵大山",
            address="四川省成都市郫都区果园村 3 组",
            contact_phone="13900001111",
            categories=["agriculture"],
            platform_ref=ref,
            actor=ACTOR,
        )
        drive_to(farmer, FileStatus.APPROVED)
        farmer.refresh_from_db()
        registration.file_update(
            file=farmer, changes={"address": "四川省成都市郫都区果园村 5 组"}, actor=ACTOR
        )
        registration.file_submit(file=farmer, actor=ACTOR)
    # An approved merchant whose 6-month re-verification has fallen due.
    first = Party.objects.filter(kind=PartyKind.MERCHANT, platform_ref="m-0001").first()
    if first and first.approved_at and first.reverification_due_at > timezone.now():
        Party.objects.filter(pk=first.pk).update(
            approved_at=timezone.now() - timedelta(days=190),
            reverification_due_at=timezone.now() - timedelta(days=7),
        )
    context["merchants"] = list(Party.objects.filter(kind=PartyKind.MERCHANT))
