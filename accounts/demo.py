"""Demo data for the registry and the staff who work it (`manage.py seed_demo`).

Identifiers are generated with valid check characters (GB 11643 for resident ID numbers, GB 32100
for unified social credit codes) so that the entry checks accept them; they belong to nobody.
"""

from __future__ import annotations

import base64
from datetime import date, timedelta

from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from stdnum.cn import ric, uscc

from accounts import services
from accounts.actors import Actor
from accounts.models import ApiKey, Party, PartyKind, RestrictionKind, User
from accounts.scopes import SCOPES

DEMO_DEVICE_NAME = "demo"
ACTOR = Actor.system("seed_demo")

STAFF = [
    # username, role, password (demo only; printed by seed_demo)
    ("reviewer1", "compliance_reviewer", "demo-Reviewer-1"),
    ("reviewer2", "compliance_reviewer", "demo-Reviewer-2"),
    ("lead", "compliance_lead", "demo-Lead-0001"),
    ("auditor", "auditor", "demo-Auditor-01"),
    ("liaison", "authority_liaison", "demo-Liaison-01"),
]

MERCHANTS = [
    ("杭州西子良品电子商务有限公司", "330106"),
    ("义乌市小商品优选贸易有限公司", "330782"),
    ("广州花城美妆科技有限公司", "440106"),
    ("深圳湾数码生活有限公司", "440305"),
    ("成都天府茶业有限公司", "510107"),
    ("苏州姑苏丝绸制品有限公司", "320508"),
    ("北京京味食品有限公司", "110105"),
    ("上海浦江母婴用品有限公司", "310115"),
]
ANCHORS = [
    ("李晓薇", "330106", date(1995, 3, 14), 2),
    ("王子涵", "440106", date(1998, 7, 2), 1),
    ("陈思远", "510107", date(1992, 11, 23), 1),
    ("赵雨桐", "320583", date(2000, 1, 30), 2),
    ("刘一鸣", "110105", date(1989, 5, 8), 1),
    ("张可欣", "310115", date(2008, 9, 1), 2),  # 18 in 2026: just of age
    ("周佳怡", "330782", date(2009, 12, 20), 2),  # 16: needs guardian consent
]
AGENCIES = [
    ("杭州星芒文化传媒有限公司", "330106"),
    ("广州南风网络科技有限公司", "440106"),
]


def make_resident_id(region: str, birth: date, sequence: int, female: bool) -> str:
    """A resident ID number (GB 11643): region, birth date, sequence (odd for men), check digit."""
    order = sequence * 2 + (0 if female else 1)
    body = f"{region}{birth:%Y%m%d}{order:03d}"
    number = body + ric.calc_check_digit(body + "0")  # it ignores the last character
    ric.validate(number)  # also checks that the region existed in the birth year
    return number


def make_credit_code(region: str, serial: int, *, individual_business: bool = False) -> str:
    """A unified social credit code (GB 32100): department 9 (market regulation), type 1
    (enterprise) or 2 (individual business), region, a 9-character organisation code, check."""
    body = f"9{2 if individual_business else 1}{region}{serial:08d}X"[:17]
    number = body + uscc.calc_check_digit(body)
    uscc.validate(number)
    return number


def _staff(out) -> list[tuple[str, str, str, str]]:
    rows = []
    for username, role, password in [("admin", "", "demo-Admin-0001"), *STAFF]:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(username=username, email=f"{username}@compliance.example")
            user.set_password(password)
            user.is_superuser = username == "admin"
            user.save()
        services.user_set_roles(user=user, role_slugs=[role] if role else [], actor=ACTOR)
        device = TOTPDevice.objects.filter(user=user, name=DEMO_DEVICE_NAME).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name=DEMO_DEVICE_NAME, confirmed=True)
        secret = base64.b32encode(device.bin_key).decode()
        rows.append((username, role or "superuser", password, secret))
    return rows


def _parties() -> dict[str, list[Party]]:
    parties: dict[str, list[Party]] = {"merchant": [], "anchor": [], "agency": []}
    for serial, (name, region) in enumerate(MERCHANTS, start=1):
        code = make_credit_code(region, 10_000_000 + serial)
        parties["merchant"].append(_party(PartyKind.MERCHANT, name, code, f"m-{serial:04d}"))
    for serial, (name, region, birth, sex) in enumerate(ANCHORS, start=1):
        number = make_resident_id(region, birth, serial, female=sex == 2)
        parties["anchor"].append(_party(PartyKind.ANCHOR, name, number, f"a-{serial:04d}"))
    for serial, (name, region) in enumerate(AGENCIES, start=1):
        code = make_credit_code(region, 20_000_000 + serial)
        parties["agency"].append(_party(PartyKind.AGENCY, name, code, f"g-{serial:04d}"))
    return parties


def _party(kind: str, name: str, identifier: str, ref: str) -> Party:
    existing = Party.objects.filter(kind=kind, platform_ref=ref).first()
    if existing:
        return existing
    return services.party_register(
        kind=kind, name=name, identifier=identifier, platform_ref=ref, actor=ACTOR
    )


def seed(*, context: dict, out) -> None:
    staff = _staff(out)
    parties = _parties()
    context["parties"] = parties
    suspended = parties["anchor"][2]
    if not suspended.restrictions.exists():
        services.restriction_impose(
            party=suspended,
            kind=RestrictionKind.LIVE,
            reason="直播中引导消费者添加微信私下交易，暂停直播功能 30 日。",
            legal_basis="直播电商监督管理办法 第十二条",
            ends_at=timezone.now() + timedelta(days=30),
            actor=ACTOR,
        )
    out.write("Staff accounts (the admin needs the password and a TOTP code):")
    for username, role, password, secret in staff:
        out.write(f"  {username:<10} {role:<20} password {password:<16} TOTP secret {secret}")
    out.write(
        "  Add a secret to an authenticator app, or print the current code with "
        "`.venv/bin/python manage.py totp_code USERNAME`."
    )
    out.write(
        f"Registry: {Party.objects.count()} parties "
        f"({len(parties['merchant'])} merchants, {len(parties['anchor'])} anchors, "
        f"{len(parties['agency'])} agencies)."
    )


def issue_api_key() -> str:
    n = ApiKey.objects.filter(name__startswith="demo-platform").count() + 1
    _key, raw = services.api_key_create(name=f"demo-platform-{n}", scopes=list(SCOPES), actor=ACTOR)
    return raw


def current_code(user: User) -> str:
    device = TOTPDevice.objects.get(user=user, name=DEMO_DEVICE_NAME)
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return f"{code:0{device.digits}d}"
