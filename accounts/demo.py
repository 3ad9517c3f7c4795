"""Demo data for the registry and the staff who work it (`manage.py seed_demo`).

Identifiers are generated with valid check characters (GB 11643 for resident ID numbers, GB 32100
for unified social credit codes) so that the entry checks accept them; they belong to nobody.
"""

from __future__ import annotations

import base64
import io
from datetime import date

from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from stdnum.cn import ric, uscc

from accounts import services
from accounts.actors import Actor
from accounts.models import ApiKey, User
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


def demo_image(label: str, colour: str = "#f4f1e8"):
    """A small scan-like JPEG for demo documents (an upload, as the API would receive it)."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (480, 320), colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((12, 12, 467, 307), outline="#8a6d3b", width=4)
    draw.text((32, 40), label, fill="#333333")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return SimpleUploadedFile(f"{label}.jpg", buffer.getvalue(), content_type="image/jpeg")


def reviewer(username: str = "reviewer1") -> Actor:
    return Actor.for_user(User.objects.get(username=username))


def drive_to(file, status: str):
    """Take a freshly created (and complete) file to `status` through the real services."""
    from accounts import registration
    from accounts.models import FileStatus

    if status == FileStatus.DRAFT:
        return file
    result = registration.file_submit(file=file, actor=ACTOR)
    if not result.accepted:
        raise RuntimeError(f"demo file {file} failed its checks: {result.failures}")
    if status == FileStatus.SUBMITTED:
        return file
    file.refresh_from_db()
    registration.file_take(file=file, actor=reviewer())
    if status == FileStatus.IN_REVIEW:
        return file
    if status == FileStatus.APPROVED:
        return registration.file_approve(file=file, actor=reviewer(), note="资料齐全，核验通过。")
    if status == FileStatus.REJECTED:
        return registration.file_reject(
            file=file,
            reasons=["identity_mismatch"],
            text="证件照片与登记信息不一致。",
            actor=reviewer(),
        )
    if status in (FileStatus.CHANGES_REQUESTED, FileStatus.RESUBMITTED):
        document = file.documents.order_by("id").first()
        item = registration.ChangeItem(
            reason="unreadable",
            note="营业执照照片模糊，请重新上传清晰扫描件。",
            document_id=document.pk if document else None,
        )
        registration.file_request_changes(file=file, items=[item], actor=reviewer())
        if status == FileStatus.CHANGES_REQUESTED or document is None:
            return file
        registration.document_add(
            file=file, kind=document.kind, upload=demo_image("rescan", "#ffffff"), actor=ACTOR
        )
        registration.file_submit(file=file, actor=ACTOR)
        return file
    raise ValueError(status)


def seed(*, context: dict, out) -> None:
    staff = _staff(out)
    out.write("Staff accounts (the admin needs the password and a TOTP code):")
    for username, role, password, secret in staff:
        out.write(f"  {username:<10} {role:<20} password {password:<16} TOTP secret {secret}")
    out.write(
        "  Add a secret to an authenticator app, or print the current code with "
        "`.venv/bin/python manage.py totp_code USERNAME`."
    )


def issue_api_key() -> str:
    n = ApiKey.objects.filter(name__startswith="demo-platform").count() + 1
    _key, raw = services.api_key_create(name=f"demo-platform-{n}", scopes=list(SCOPES), actor=ACTOR)
    return raw


def current_code(user: User) -> str:
    device = TOTPDevice.objects.get(user=user, name=DEMO_DEVICE_NAME)
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return f"{code:0{device.digits}d}"
