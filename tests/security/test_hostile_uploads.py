"""Every file of the hostile corpus (tests/security/hostile_files.py) against every upload entry
point, through the service each view calls and through the view itself:

- registration documents: `registration.document_add`, POST /api/v1/merchants/<id>/documents/
- complaint evidence on the web: the forms' `EvidenceField` and `case_consumer_add_info`, POST
  /complaints/new/ and /track/<code>/<token>/add/
- complaint evidence from the platform: `clean_image` and `case_add_evidence` as the API view
  calls them, POST /api/v1/complaints/<code>/evidence/
- inspection screenshots: `inspection_record`, POST /admin/liverooms/livesession/<id>/inspect/
- enforcement evidence files: `evidence_add_file`, POST /admin/.../violation/<id>/act/add_file/
- the sanctions list import: the admin form and `sanctions_import_csv`, POST
  /admin/credit/sanctionentry/import/

A refused file gets a clear error (the status, and a message that says why) and leaves nothing
behind: no row, no file under MEDIA_ROOT. An accepted file is stored, and for document images
whatever the upload carried besides its pixels is gone. Each service call is measured: the peak
of Python allocations (tracemalloc) and, where Linux lets the high-water mark be reset, the growth
of the resident set, which also counts what Pillow allocates in C. Memory is deterministic; time
is not asserted here (bench/uploads.py measures it).
"""

from __future__ import annotations

import ctypes
import io
import re
import tracemalloc
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from PIL import Image

from accounts import registration
from accounts.actors import Actor
from accounts.models import FileDocument, Party, PartyKind, RegistrationFile
from accounts.uploads import clean_image
from complaints import services as complaint_services
from complaints.forms import EvidenceField
from complaints.models import Case, CaseKind, Source
from complaints.models import Evidence as CaseEvidence
from credit.admin.sanctions import ImportForm
from credit.models import SanctionEntry
from credit.services import sanctions_import_csv
from enforcement import services as enforcement_services
from enforcement.models import Evidence as ViolationEvidence
from enforcement.models import EvidenceKind
from liverooms.models import Inspection, LiveSession
from liverooms.services import inspection_record, room_register
from tests.accounts.test_registration_api import merchant as api_merchant
from tests.accounts.test_roles import verified_client
from tests.factories import TEST_ACTOR, UserFactory, register_party
from tests.security.hostile_files import ACCEPT, Caps, Hostile, corpus

pytestmark = pytest.mark.django_db

# Lower than the defaults (10 MB and 50 MB) so that the files one byte over them stay small;
# bench/uploads.py runs the corpus at the real caps.
CAPS = Caps(image_bytes=5 * 1024 * 1024, evidence_bytes=6 * 1024 * 1024)
CORPUS = corpus(CAPS)
BY_KEY = {item.key: item for item in CORPUS}

# Python allocations: the upload read under its cap, one copy, the re-encoded output.
PYTHON_PEAK_LIMIT = 64 * 1024 * 1024
# Resident memory, Pillow's C buffers included: the corpus's largest legal image (36 million
# pixels at a byte each) with room for Pillow and the interpreter. The 50,000 x 50,000 bomb,
# decoded, would need 2.5 GB.
RSS_GROWTH_LIMIT = 128 * 1024 * 1024

# What the message of each refusal says, in English.
IMAGE_MESSAGES = {
    "too_large": "The file is larger than",
    "too_many_pixels": "pixels",
    "unsupported_type": "The file is not a JPEG, PNG or WebP image.",
    # An empty file: ours, or the form field's own words before ours are reached.
    "corrupt": (
        "The image is damaged or incomplete",
        "The file is empty.",
        "The submitted file is empty.",
    ),
    "animated": "Animated images are not accepted",
}
EVIDENCE_MESSAGES = {
    "too_large": "The file is larger than",
    "empty": ("The file is empty.", "The submitted file is empty."),
    "unsupported_type": "Upload a PNG, JPEG or WebP image, a PDF, an MP4 video or a text file.",
    "too_many_pixels": "pixels",
    "corrupt": "The file is damaged or incomplete",
}


def says_why(message: str, code: str, messages: dict) -> bool:
    expected = messages[code]
    return any(
        text in message for text in (expected if isinstance(expected, tuple) else [expected])
    )


def ids(items):
    return [item.key for item in items]


def upload(item: Hostile) -> SimpleUploadedFile:
    return SimpleUploadedFile(item.name, item.data, content_type=item.content_type)


def stored_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


@pytest.fixture(autouse=True)
def caps_and_media(settings, tmp_path):
    settings.UPLOAD_MAX_BYTES = CAPS.image_bytes
    settings.ENFORCEMENT_EVIDENCE_MAX_BYTES = CAPS.evidence_bytes
    settings.MEDIA_ROOT = tmp_path / "media"
    with translation.override("en"):
        yield tmp_path / "media"


# --- Memory --------------------------------------------------------------------------------------


_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kib(field: str) -> int:
    return int(re.search(rf"^{field}:\s+(\d+) kB", _STATUS.read_text(), re.MULTILINE).group(1))


def _reset_high_water_mark() -> bool:
    """Linux resets VmHWM to the current resident size when 5 is written to clear_refs.

    First the C heap's free pages go back to the system (glibc's malloc_trim): memory an earlier
    test freed would otherwise be reused without the resident size growing, and hide what the
    next file costs.
    """
    # Not glibc: the measure can then only under-count, never fail a file wrongly.
    with suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


@dataclass
class Memory:
    python_peak: int = 0
    rss_growth: int | None = None  # None where the high-water mark cannot be reset

    def check(self) -> None:
        assert self.python_peak < PYTHON_PEAK_LIMIT, f"{self.python_peak / 2**20:.1f} MiB"
        if self.rss_growth is not None:
            assert self.rss_growth < RSS_GROWTH_LIMIT, f"{self.rss_growth / 2**20:.1f} MiB"


@contextmanager
def measured():
    memory = Memory()
    resettable = _STATUS.exists() and _reset_high_water_mark()
    baseline = _status_kib("VmRSS") if resettable else 0
    tracemalloc.start()
    try:
        yield memory
    finally:
        memory.python_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        if resettable:
            memory.rss_growth = (_status_kib("VmHWM") - baseline) * 1024


def refusal_of(call) -> tuple[object, ValidationError | None, Memory]:
    # In English for the assertions; a request made while setting up may have switched.
    with translation.override("en"), measured() as memory:
        try:
            result, error = call(), None
        except ValidationError as exc:
            result, error = None, exc
    memory.check()
    return result, error, memory


def code_of(error: ValidationError) -> str:
    """The code of a refusal, whether raised bare (document images) or for the field `file`."""
    if hasattr(error, "error_dict"):
        [inner] = error.error_dict["file"]
        return inner.code
    [inner] = error.error_list
    return inner.code


def assert_image_stored(item: Hostile, content: bytes) -> None:
    """An accepted document image is stored as a fresh encoding: still a picture, and without
    what the upload carried besides its pixels."""
    with Image.open(io.BytesIO(content)) as image:
        assert image.format in ("JPEG", "PNG", "WEBP")
        image.load()
    for marker in item.absent:
        assert marker not in content, marker


# --- What each entry point is built on -----------------------------------------------------------


@pytest.fixture
def draft_file(api) -> RegistrationFile:
    return RegistrationFile.objects.get(party_id=api_merchant(api)["id"])


@pytest.fixture
def session(db) -> LiveSession:
    owner = register_party(PartyKind.MERCHANT, name="西子良品")
    room = room_register(
        owner=owner,
        platform_ref="room-h1",
        title="西子良品直播间",
        category="apparel",
        followers=100,
        actor=TEST_ACTOR,
    )
    return LiveSession.objects.create(room=room, owner=room.owner)


def file_case(session: LiveSession, source: str):
    data = complaint_services.CaseInput(
        kind=CaseKind.COMPLAINT,
        facts="直播间宣称是真丝，收到后是化纤。",
        merchant=session.room.owner,
        order_number="ORD-1001",
        purchase="真丝围巾",
        category="false_advertising",
        request="refund",
        contact_name="王女士",
        contact_email="wang@example.com",
        contact_phone="13812345678",
    )
    return complaint_services.case_file(
        data=data,
        source=source,
        actor=TEST_ACTOR,
        received_at=timezone.now() if source == Source.API else None,
        platform_ref="app-h1" if source == Source.API else "",
    ).case


@pytest.fixture
def reviewer(db):
    return UserFactory(roles=["compliance_reviewer"])


@pytest.fixture
def violation(session, reviewer):
    return enforcement_services.violation_raise(
        party=session.room.owner,
        source="reviewer",
        facts="直播中引导用户添加微信私下交易。",
        actor=Actor.for_user(reviewer),
    )


# --- Through the services the views call ---------------------------------------------------------


@pytest.mark.parametrize("item", CORPUS, ids=ids(CORPUS))
def test_registration_document(item, draft_file, caps_and_media):
    document, error, _memory = refusal_of(
        lambda: registration.document_add(
            file=draft_file, kind="business_licence", upload=upload(item), actor=TEST_ACTOR
        )
    )
    if item.image == ACCEPT:
        assert error is None
        assert FileDocument.objects.filter(file=draft_file).count() == 1
        [path] = stored_files(caps_and_media)
        assert path.relative_to(caps_and_media).as_posix() == document.storage_name
        assert_image_stored(item, path.read_bytes())
    else:
        assert error is not None, "accepted"
        assert code_of(error) == item.image
        assert says_why(error.messages[0], item.image, IMAGE_MESSAGES), error.messages
        assert not FileDocument.objects.exists()
        assert stored_files(caps_and_media) == []


@pytest.mark.parametrize("item", CORPUS, ids=ids(CORPUS))
def test_complaint_evidence_from_the_web_form(item, session, caps_and_media):
    case = file_case(session, Source.WEB)

    def add():
        images = EvidenceField().clean([upload(item)])
        return complaint_services.case_consumer_add_info(case=case, text="见附件", images=images)

    _case, error, _memory = refusal_of(add)
    if item.image == ACCEPT:
        assert error is None
        [path] = stored_files(caps_and_media)
        assert case.evidence.get().file == path.relative_to(caps_and_media).as_posix()
        assert_image_stored(item, path.read_bytes())
    else:
        assert error is not None, "accepted"
        # The field names the file and gives the reason.
        [message] = error.messages
        assert says_why(message, item.image, IMAGE_MESSAGES), message
        assert not CaseEvidence.objects.exists()
        assert stored_files(caps_and_media) == []


@pytest.mark.parametrize("item", CORPUS, ids=ids(CORPUS))
def test_complaint_evidence_from_the_platform(item, session, caps_and_media):
    case = file_case(session, Source.API)
    _added, error, _memory = refusal_of(
        lambda: complaint_services.case_add_evidence(
            case=case, images=[clean_image(upload(item))], actor=TEST_ACTOR, added_by="api"
        )
    )
    if item.image == ACCEPT:
        assert error is None
        [path] = stored_files(caps_and_media)
        assert_image_stored(item, path.read_bytes())
    else:
        assert error is not None, "accepted"
        assert code_of(error) == item.image
        assert not CaseEvidence.objects.exists()
        assert stored_files(caps_and_media) == []


@pytest.mark.parametrize("item", CORPUS, ids=ids(CORPUS))
def test_inspection_screenshot(item, session, reviewer, caps_and_media):
    inspection, error, _memory = refusal_of(
        lambda: inspection_record(
            session=session,
            checklist={},
            findings="",
            result="no_issue",
            actor=Actor.for_user(reviewer),
            screenshot=upload(item),
        )
    )
    if item.image == ACCEPT:
        assert error is None
        [path] = stored_files(caps_and_media)
        assert path.relative_to(caps_and_media).as_posix() == inspection.screenshot
        assert_image_stored(item, path.read_bytes())
    else:
        assert error is not None, "accepted"
        assert code_of(error) == item.image
        assert not Inspection.objects.exists()
        assert stored_files(caps_and_media) == []


@pytest.mark.parametrize("item", CORPUS, ids=ids(CORPUS))
def test_enforcement_evidence_file(item, violation, reviewer, caps_and_media):
    evidence, error, _memory = refusal_of(
        lambda: enforcement_services.evidence_add_file(
            violation=violation,
            upload=upload(item),
            description="直播截图",
            actor=Actor.for_user(reviewer),
        )
    )
    if item.evidence == ACCEPT:
        assert error is None
        [path] = stored_files(caps_and_media)
        # Kept byte for byte, under our name, with the uploader's name only as a clean label.
        assert path.read_bytes() == item.data
        assert path.relative_to(caps_and_media).as_posix() == evidence.file
        assert not re.search(r"[\x00-\x1f/\\]", evidence.file_name)
    else:
        assert error is not None, "accepted"
        assert code_of(error) == item.evidence
        assert says_why(error.message_dict["file"][0], item.evidence, EVIDENCE_MESSAGES)
        assert not ViolationEvidence.objects.filter(kind=EvidenceKind.FILE).exists()
        assert stored_files(caps_and_media) == []


@pytest.mark.parametrize("item", CORPUS, ids=ids(CORPUS))
def test_sanctions_import(item, caps_and_media):
    def run():
        form = ImportForm(data={}, files={"file": upload(item)})
        if not form.is_valid():
            raise ValidationError(form.errors["file"])
        return sanctions_import_csv(content=form.cleaned_data["file"].read(), actor=TEST_ACTOR)

    report, error, _memory = refusal_of(run)
    if item.sanctions == ACCEPT:
        assert error is None and report.errors == []
        assert SanctionEntry.objects.count() == report.created > 0
    else:
        # The empty file is refused by the form, everything else by the import's report.
        assert error is not None or report.errors, "accepted"
        assert not SanctionEntry.objects.exists()
    assert stored_files(caps_and_media) == []


# --- Through the views ---------------------------------------------------------------------------


def english() -> Client:
    """The pages are Chinese first; the language cookie switches them, as the site's own switch
    does."""
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def first_error(body: dict, field: str) -> str:
    """DRF reports a list field's child errors by index ({"0": [...]}), the view's own as a list."""
    errors = body[field]
    return errors["0"][0] if isinstance(errors, dict) else errors[0]


def form_errors(form) -> list[str]:
    return [str(text) for texts in form.errors.values() for text in texts]


def assert_api_image_verdict(response, item, field, model, media) -> None:
    """An image posted to the API: a valid one stored re-encoded (201), a hostile one refused on
    `field` with its reason (400) and nothing kept, neither a `model` row nor a file."""
    if item.image == ACCEPT:
        assert response.status_code == 201, response.json()
        [path] = stored_files(media)
        assert_image_stored(item, path.read_bytes())
    else:
        assert response.status_code == 400
        message = first_error(response.json(), field)
        assert says_why(message, item.image, IMAGE_MESSAGES), message
        assert not model.objects.exists()
        assert stored_files(media) == []


@pytest.mark.parametrize("item", CORPUS, ids=ids(CORPUS))
def test_registration_document_api(item, api, caps_and_media):
    party_id = api_merchant(api)["id"]
    response = api.post(
        f"/api/v1/merchants/{party_id}/documents/",
        {"kind": "business_licence", "file": upload(item)},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert_api_image_verdict(response, item, "file", FileDocument, caps_and_media)


@pytest.mark.parametrize("item", CORPUS, ids=ids(CORPUS))
def test_complaint_evidence_api(item, api, session, caps_and_media):
    case = file_case(session, Source.API)
    response = api.post(
        f"/api/v1/complaints/{case.tracking_code}/evidence/",
        {"images": [upload(item)]},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert_api_image_verdict(response, item, "images", CaseEvidence, caps_and_media)


@pytest.mark.parametrize("item", CORPUS, ids=ids(CORPUS))
def test_complaint_filing_form(item, session, caps_and_media):
    merchant = session.room.owner
    Party.objects.filter(pk=merchant.pk).update(approved_at=timezone.now())  # offered publicly
    response = english().post(
        "/complaints/new/",
        {
            "action": "submit",
            "merchant": merchant.pk,
            "order_number": "ORD-2001",
            "purchase": "真丝围巾",
            "category": "false_advertising",
            "facts": "主播说是100%桑蚕丝，收到后是化纤。",
            "request": "refund",
            "contact_name": "王女士",
            "contact_email": "wang@example.com",
            "contact_phone": "13812345678",
            "evidence": [upload(item)],
        },
    )
    if item.image == ACCEPT:
        assert response.status_code == 302
        assert Case.objects.get().evidence.count() == 1
        [path] = stored_files(caps_and_media)
        assert_image_stored(item, path.read_bytes())
    else:
        assert response.status_code == 200
        errors = response.context["form"].errors["evidence"]
        assert says_why(errors[0], item.image, IMAGE_MESSAGES), errors
        assert not Case.objects.exists()
        assert stored_files(caps_and_media) == []


@pytest.mark.parametrize("item", CORPUS, ids=ids(CORPUS))
def test_complaint_evidence_tracking_page(item, session, caps_and_media):
    case = file_case(session, Source.WEB)
    token = complaint_services.tracking_token(case)
    client = english()
    response = client.post(
        reverse("complaints:track_add", args=[case.tracking_code, token]),
        {"text": "订单截图见附件。", "evidence": [upload(item)]},
    )
    if item.image == ACCEPT:
        assert response.status_code == 302
        [path] = stored_files(caps_and_media)
        assert_image_stored(item, path.read_bytes())
    else:
        assert response.status_code == 200
        errors = response.context["add_form"].errors["evidence"]
        assert says_why(errors[0], item.image, IMAGE_MESSAGES), errors
        assert not CaseEvidence.objects.exists()
        assert stored_files(caps_and_media) == []


@pytest.mark.parametrize("item", CORPUS, ids=ids(CORPUS))
def test_inspection_screenshot_admin(item, session, reviewer, caps_and_media):
    client = verified_client(english(), reviewer)
    response = client.post(
        f"/admin/liverooms/livesession/{session.pk}/inspect/",
        {"result": "no_issue", "findings": "", "screenshot": upload(item)},
    )
    if item.image == ACCEPT:
        assert response.status_code == 302
        [path] = stored_files(caps_and_media)
        assert_image_stored(item, path.read_bytes())
    else:
        assert response.status_code == 200
        errors = form_errors(response.context["form"])
        assert says_why(" ".join(errors), item.image, IMAGE_MESSAGES), errors
        assert not Inspection.objects.exists()
        assert stored_files(caps_and_media) == []


@pytest.mark.parametrize("item", CORPUS, ids=ids(CORPUS))
def test_enforcement_evidence_admin(item, violation, reviewer, caps_and_media):
    client = verified_client(english(), reviewer)
    response = client.post(
        f"/admin/enforcement/violation/{violation.pk}/act/add_file/",
        {"file": upload(item), "description": "直播截图"},
    )
    if item.evidence == ACCEPT:
        assert response.status_code == 302
        evidence = ViolationEvidence.objects.get(kind=EvidenceKind.FILE)
        assert (caps_and_media / evidence.file).read_bytes() == item.data
        # Django's multipart parser already keeps only the last part of the name, printable.
        assert evidence.file_name and not re.search(r"[\x00-\x1f/\\]", evidence.file_name)
    else:
        assert response.status_code == 200
        errors = response.context["action"]["form"].errors["file"]
        assert says_why(errors[0], item.evidence, EVIDENCE_MESSAGES), errors
        assert not ViolationEvidence.objects.filter(kind=EvidenceKind.FILE).exists()
        assert stored_files(caps_and_media) == []


@pytest.mark.parametrize("item", CORPUS, ids=ids(CORPUS))
def test_sanctions_import_admin(item, caps_and_media):
    lead = UserFactory(roles=["compliance_lead"])
    client = verified_client(english(), lead)
    response = client.post("/admin/credit/sanctionentry/import/", {"file": upload(item)})
    if item.sanctions == ACCEPT:
        assert response.status_code == 302
        assert SanctionEntry.objects.exists()
    else:
        assert response.status_code == 200
        form, report = response.context["form"], response.context["report"]
        assert form.errors.get("file") or report.errors
        assert not SanctionEntry.objects.exists()


# --- The corpus itself and the validators' edges -------------------------------------------------


def test_the_corpus_keeps_valid_controls_for_every_validator():
    for validator in ("image", "evidence", "sanctions"):
        assert [i for i in CORPUS if i.control and i.verdict(validator) == ACCEPT], validator
    assert len(BY_KEY) == len(CORPUS)


def test_the_png_bomb_is_real_and_small():
    """It inflates to what its header promises, at a ratio of about a thousand to one."""
    import struct
    import zlib

    data = BY_KEY["png-bomb-50k"].data
    assert len(data) < 400_000
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (50_000, 50_000)
    idat = data.index(b"IDAT")
    length = struct.unpack(">I", data[idat - 4 : idat])[0]
    inflater, total, stream = zlib.decompressobj(), 0, data[idat + 4 : idat + 4 + length]
    for start in range(0, len(stream), 1 << 16):
        total += len(inflater.decompress(stream[start : start + (1 << 16)]))
    assert inflater.eof and total == ((width + 7) // 8 + 1) * height


def test_an_evidence_file_that_under_reports_its_size_is_not_read_past_the_cap(
    violation, reviewer, caps_and_media
):
    class Lying:
        name, size = "chat.txt", None
        served = 0

        def read(self, size=-1):
            chunk = b"a" * (size if size > 0 else CAPS.evidence_bytes * 2)
            self.served += len(chunk)
            return chunk

    lying = Lying()
    with pytest.raises(ValidationError) as refused:
        enforcement_services.evidence_add_file(
            violation=violation, upload=lying, description="x", actor=Actor.for_user(reviewer)
        )
    assert code_of(refused.value) == "too_large"
    assert lying.served == CAPS.evidence_bytes + 1
    assert stored_files(caps_and_media) == []


def test_a_nul_in_an_evidence_file_name_called_directly_is_dropped_from_the_label(
    violation, reviewer
):
    item = BY_KEY["name-nul"]
    evidence = enforcement_services.evidence_add_file(
        violation=violation,
        upload=upload(item),
        description="直播截图",
        actor=Actor.for_user(reviewer),
    )
    assert evidence.file_name == "shot.php.png"


def test_the_memory_measure_sees_what_pillow_allocates_in_c():
    """The bound on resident memory is what catches a decoded bomb: tracemalloc alone does not
    see Pillow's pixel buffers."""
    if not (_STATUS.exists() and _reset_high_water_mark()):
        pytest.skip("the resident high-water mark cannot be reset on this system")
    with measured() as memory:
        Image.new("L", (6000, 6000), 255).load()
    assert memory.rss_growth >= 30 * 1024 * 1024
    assert memory.python_peak < 1024 * 1024
