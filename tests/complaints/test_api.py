"""The complaints API: the platform forwards complaints, reports and evaluations made in its app,
adds evidence and information for the consumer, withdraws for them, and follows the cases.

Expected deadlines were counted by hand on the State Council's 2025 schedule (National Day and
Mid-Autumn: 1-8 Oct off; Sun 28 Sep and Sat 11 Oct worked) and are checked against
accounts.workdays as well.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

from accounts.actors import Actor
from accounts.models import PartyKind, WebhookDelivery
from accounts.services import webhook_endpoint_create
from accounts.uploads import clean_image
from accounts.workdays import add_working_days
from complaints import services
from complaints.models import Case, CaseEvent, CaseStatus, Evaluation, Evidence, Outcome, Source
from tests.accounts.conftest import png_bytes
from tests.factories import TEST_ACTOR, register_party

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
COMPLAINTS = "/api/v1/complaints/"
EVALUATIONS = "/api/v1/evaluations/"
_refs = iter(range(1, 10_000))


def client_with(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def complaint(scene, **overrides) -> dict:
    body = {
        "kind": "complaint",
        "platform_ref": f"app-{next(_refs)}",
        "received_at": "2025-09-29T10:00:00+08:00",
        "merchant_id": scene.merchant.pk,
        "order_number": "ORD-88001",
        "purchase": "真丝围巾",
        "category": "false_advertising",
        "request": "refund",
        "request_detail": "全额退款",
        "facts": "直播间宣称100%桑蚕丝，收到后检测为化纤。",
        "contact": {"name": "王女士", "email": "wang@example.com", "phone": "13812345678"},
    }
    body.update(overrides)
    return body


def report(scene, **overrides) -> dict:
    body = {
        "kind": "report",
        "platform_ref": f"app-r-{next(_refs)}",
        "received_at": "2025-09-29T21:05:00+08:00",
        "session_id": scene.session.pk,
        "report_category": "offline_transaction",
        "stream_offset": 754,
        "facts": "主播让大家加微信私下转账。",
    }
    body.update(overrides)
    return body


def file_via_api(api, body: dict) -> dict:
    response = api.post(COMPLAINTS, body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def image(name: str = "photo.png", colour: str = "red") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(colour=colour), content_type="image/png")


def services_image(colour: str = "red"):
    return clean_image(image(colour=colour))


def stored_files(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()]


@pytest.fixture
def after_receipt(time_machine):
    """The platform forwards the next morning: after received_at, so it is not in the future."""
    time_machine.move_to(datetime(2025, 9, 30, 9, tzinfo=SHANGHAI), tick=False)


@pytest.fixture
def platform(make_key):
    """The platform's own key with every scope: (key, client)."""
    key, raw = make_key(name="platform-app")
    return key, client_with(raw)


# --- filing ------------------------------------------------------------------------------------


def test_a_forwarded_complaint_counts_its_deadlines_from_received_at(scene, api, after_receipt):
    body = file_via_api(api, complaint(scene))

    # Mon 29 Sep: Sep 30, [Oct 1-8 off], Oct 9, 10, 11 (Sat, worked), 13, 14, 15 -> 7th.
    assert body["acceptance_due"] == "2025-10-15"
    assert body["acceptance_due"] == add_working_days(date(2025, 9, 29), 7).due.isoformat()
    # ... 16, 17, 20 -> 10th, the default resolution target.
    assert body["resolution_due"] == "2025-10-20"
    assert body["resolution_due"] == add_working_days(date(2025, 9, 29), 10).due.isoformat()
    assert body["mediation_due"] is None  # runs from acceptance
    assert body["deadline_estimated"] is False
    assert datetime.fromisoformat(body["received_at"]) == datetime(2025, 9, 29, 10, tzinfo=SHANGHAI)
    assert (body["status"], body["outcome"], body["source"]) == ("new", "", "api")
    assert re.fullmatch(r"C[2-9A-HJ-NP-Z]{9}", body["tracking_code"])
    assert (body["merchant_id"], body["anchor_id"], body["session_id"]) == (
        scene.merchant.pk,
        None,
        None,
    )
    assert body["evidence_count"] == 0
    assert [e["kind"] for e in body["timeline"]] == ["filed"]
    case = Case.objects.get(tracking_code=body["tracking_code"])
    assert (case.source, case.platform_ref) == (Source.API, body["platform_ref"])
    assert case.acceptance_due == date(2025, 10, 15)


def test_the_response_gives_the_private_tracking_link_and_only_a_masked_contact(
    scene, api, after_receipt
):
    response = api.post(COMPLAINTS, complaint(scene), format="json")
    body = response.json()

    case = Case.objects.get(tracking_code=body["tracking_code"])
    token = services.tracking_token(case)
    assert body["tracking_url"] == settings.SITE_URL + reverse(
        "complaints:track", args=[case.tracking_code, token]
    )
    assert services.case_for_tracking(case.tracking_code, token) == case
    assert body["contact"] == "w***@example.com / 138****5678"
    raw = response.content.decode()
    for secret in ("wang@example.com", "13812345678", "王女士"):
        assert secret not in raw


def test_a_phone_and_order_number_typed_in_full_width_are_folded_like_on_the_web_form(
    scene, api, after_receipt
):
    contact = {"email": "", "phone": "１３８ １２３４ ５６７８"}
    body = file_via_api(api, complaint(scene, order_number="ＯＲＤ－８８００１", contact=contact))

    case = Case.objects.get(tracking_code=body["tracking_code"])
    assert case.order_number == "ORD-88001"
    assert services.contact_phone(case) == "13812345678"
    assert case.contact_key == services.contact_key(phone="13812345678")


@pytest.mark.parametrize(
    ("received_at", "acceptance_due"),
    [
        # Sun 28 Sep 2025 was a working day, but the day of receipt is never counted:
        # Sep 29, 30, Oct 9, 10, 11, 13, 14 -> 7th.
        ("2025-09-28T09:00:00+08:00", "2025-10-14"),
        # 20:00 UTC on the 28th is 04:00 on Mon 29 Sep in China: counted from the 29th.
        ("2025-09-28T20:00:00+00:00", "2025-10-15"),
        # Filed during the holiday (Fri 3 Oct): Oct 9, 10, 11, 13, 14, 15, 16 -> 7th.
        ("2025-10-03T15:00:00+08:00", "2025-10-16"),
    ],
)
def test_the_day_in_china_of_received_at_starts_the_clock(
    scene, api, time_machine, received_at, acceptance_due
):
    time_machine.move_to(datetime(2025, 10, 4, 9, tzinfo=SHANGHAI), tick=False)
    body = file_via_api(api, complaint(scene, received_at=received_at))
    assert body["acceptance_due"] == acceptance_due


def test_the_resolution_target_is_the_configured_number_of_working_days(
    scene, api, after_receipt, settings
):
    settings.COMPLAINT_RESOLUTION_WORKING_DAYS = 5
    body = file_via_api(api, complaint(scene))
    # Sep 30, Oct 9, 10, 11 (Sat, worked), 13 -> 5th.
    assert body["resolution_due"] == "2025-10-13"


def test_deadlines_past_the_published_calendar_are_counted_on_weekdays_and_flagged(
    scene, api, time_machine
):
    time_machine.move_to(datetime(2035, 3, 1, 12, tzinfo=SHANGHAI), tick=False)
    body = file_via_api(api, complaint(scene, received_at="2035-03-01T10:00:00+08:00"))
    # Thu 1 Mar 2035 + 7 weekdays: Mar 2, 5, 6, 7, 8, 9, 12.
    assert body["acceptance_due"] == "2035-03-12"
    assert body["deadline_estimated"] is True


def test_a_report_about_a_session_names_the_rooms_owner(scene, api, after_receipt):
    body = file_via_api(api, report(scene))

    assert body["tracking_code"].startswith("R")
    assert (body["kind"], body["report_category"]) == ("report", "offline_transaction")
    assert body["session_id"] == scene.session.pk
    assert body["merchant_id"] == scene.merchant.pk  # the room's owner
    assert body["stream_offset"] == 754
    assert Case.objects.get(tracking_code=body["tracking_code"]).stream_offset == timedelta(
        seconds=754
    )


def test_forwarding_the_same_platform_ref_again_returns_the_case_already_filed(
    scene, api, after_receipt
):
    body = complaint(scene, platform_ref="app-complaint-7")
    first = api.post(COMPLAINTS, body, format="json")
    again = api.post(COMPLAINTS, body, format="json")
    changed = api.post(COMPLAINTS, {**body, "facts": "又补充了一句"}, format="json")

    assert (first.status_code, again.status_code, changed.status_code) == (201, 200, 200)
    assert first.json()["tracking_code"] == again.json()["tracking_code"]
    assert changed.json()["tracking_code"] == first.json()["tracking_code"]
    assert Case.objects.filter(platform_ref="app-complaint-7").count() == 1
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.FILED).count() == 1


@pytest.mark.parametrize(
    "shape", ["merchant", "anchor_and_english", "report_on_a_session", "possible_duplicate"]
)
def test_the_answer_to_a_filing_is_what_reading_the_case_back_gives(
    scene, api, after_receipt, shape
):
    """The 201 is built from the case filing holds in memory; the 200 to the same platform_ref
    reads the case back. They must say the same."""
    if shape == "merchant":
        body = complaint(scene)
    elif shape == "anchor_and_english":
        body = complaint(
            scene,
            anchor_id=scene.anchor.pk,
            language="en",
            contact={"phone": "１３８１２３４５６７８"},
        )
    elif shape == "report_on_a_session":
        body = report(scene)
    else:
        file_via_api(api, complaint(scene, order_number="ORD-DUP-1"))
        body = complaint(scene, order_number="ORD-DUP-1")
    first = api.post(COMPLAINTS, body, format="json")
    again = api.post(COMPLAINTS, body, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    if shape == "possible_duplicate":
        case = Case.objects.get(tracking_code=first.json()["tracking_code"])
        assert case.possible_duplicate_of is not None
    assert [e["kind"] for e in first.json()["timeline"]] == ["filed"]


def test_a_complaint_from_the_web_form_does_not_swallow_a_forwarded_one(scene, api, after_receipt):
    scene.file(platform_ref="shared-ref", source=Source.WEB)
    response = api.post(COMPLAINTS, complaint(scene, platform_ref="shared-ref"), format="json")
    assert response.status_code == 201
    assert Case.objects.filter(platform_ref="shared-ref").count() == 2


def _drop(body: dict, *names: str) -> dict:
    return {k: v for k, v in body.items() if k not in names}


BAD_COMPLAINTS = {
    "no facts": (lambda s: _drop(complaint(s), "facts"), "facts"),
    "blank facts": (lambda s: complaint(s, facts="   "), "facts"),
    "no request": (lambda s: _drop(complaint(s), "request"), "request"),
    "unknown request": (lambda s: complaint(s, request="apology"), "request"),
    "nobody named": (lambda s: _drop(complaint(s), "merchant_id"), "merchant_id"),
    "no contact": (lambda s: _drop(complaint(s), "contact"), "contact"),
    "bad e-mail": (lambda s: complaint(s, contact={"email": "wang@"}), "contact"),
    "bad phone": (lambda s: complaint(s, contact={"phone": "12345"}), "contact"),
    "unknown kind": (lambda s: complaint(s, kind="rumour"), "kind"),
    "no platform_ref": (lambda s: _drop(complaint(s), "platform_ref"), "platform_ref"),
    "no received_at": (lambda s: _drop(complaint(s), "received_at"), "received_at"),
    "received_at without offset": (
        lambda s: complaint(s, received_at="2025-09-29T10:00:00"),
        "received_at",
    ),
    "received_at not a time": (lambda s: complaint(s, received_at="yesterday"), "received_at"),
    "received_at in the future": (
        lambda s: complaint(s, received_at="2025-09-30T11:00:00+08:00"),
        "received_at",
    ),
    "report without session": (lambda s: _drop(report(s), "session_id"), "session_id"),
    "report without category": (
        lambda s: _drop(report(s), "report_category"),
        "report_category",
    ),
    "negative stream offset": (lambda s: report(s, stream_offset=-5), "stream_offset"),
    "stream offset as a duration": (lambda s: report(s, stream_offset="PT12M"), "stream_offset"),
}


@pytest.mark.parametrize("case", BAD_COMPLAINTS)
def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(scene, api, after_receipt, case):
    make, field = BAD_COMPLAINTS[case]
    webhook_endpoint_create(
        name="platform", url="https://platform.example.com/hooks", actor=TEST_ACTOR
    )

    response = api.post(COMPLAINTS, make(scene), format="json", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400, response.json()
    assert field in response.json()
    assert not Case.objects.exists()
    assert not CaseEvent.objects.exists()
    assert not WebhookDelivery.objects.exists()


def test_unknown_and_wrong_kind_ids_are_field_errors(scene, api, after_receipt):
    body = complaint(
        scene,
        merchant_id=scene.anchor.pk,
        anchor_id=scene.merchant.pk,
        session_id=999_999,
    )
    response = api.post(COMPLAINTS, body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.json() == {
        "merchant_id": ["This party is not a merchant."],
        "anchor_id": ["This party is not an anchor."],
        "session_id": ["No live session with this id."],
    }

    unknown = api.post(
        COMPLAINTS, complaint(scene, merchant_id=999_999), format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert unknown.json() == {"merchant_id": ["No party with this id."]}
    assert not Case.objects.exists()


# --- keys and parties ----------------------------------------------------------------------------


def test_a_read_only_key_reads_but_cannot_forward(scene, make_key, after_receipt):
    _key, raw = make_key(scopes=["complaints:read"], name="reader")
    client = client_with(raw)
    case = scene.file()

    assert client.get(COMPLAINTS).status_code == 200
    assert client.get(f"{COMPLAINTS}{case.tracking_code}/").status_code == 200
    assert client.post(COMPLAINTS, complaint(scene), format="json").status_code == 403
    assert client.post(f"{COMPLAINTS}{case.tracking_code}/withdraw/", {}).status_code == 403
    assert Case.objects.count() == 1


def test_a_key_without_complaint_scopes_gets_403_and_no_key_401(scene, make_key):
    _key, raw = make_key(scopes=["live:read"], name="live-only")
    assert client_with(raw).get(COMPLAINTS).status_code == 403
    assert APIClient().get(COMPLAINTS).status_code == 401


def test_a_party_bound_key_sees_only_the_cases_about_its_party(scene, api, make_key, after_receipt):
    other = register_party(PartyKind.MERCHANT)
    own = scene.file(source=Source.API, platform_ref="app-own")
    about_other = scene.file(merchant=other, order_number="ORD-2")
    about_anchor = scene.file(merchant=other, anchor=scene.anchor, order_number="ORD-3")
    _key, raw = make_key(party=scene.merchant, name="merchant-key")
    merchant_client = client_with(raw)
    _key, raw = make_key(party=scene.anchor, name="anchor-key")
    anchor_client = client_with(raw)

    listed = merchant_client.get(COMPLAINTS).json()["results"]
    assert [c["tracking_code"] for c in listed] == [own.tracking_code]
    assert merchant_client.get(f"{COMPLAINTS}{about_other.tracking_code}/").status_code == 404
    # Filtering on another party's id shows nothing either.
    assert merchant_client.get(COMPLAINTS, {"merchant": other.pk}).json()["results"] == []
    listed = anchor_client.get(COMPLAINTS).json()["results"]
    assert [c["tracking_code"] for c in listed] == [about_anchor.tracking_code]

    detail = merchant_client.get(f"{COMPLAINTS}{own.tracking_code}/").json()
    # The respondent reads the facts but never the consumer's contact or private link.
    assert detail["facts"] == own.facts
    assert (detail["contact"], detail["tracking_url"]) == (None, None)
    platform_view = api.get(f"{COMPLAINTS}{own.tracking_code}/").json()
    assert platform_view["contact"] and platform_view["tracking_url"]


def test_a_party_bound_key_reads_neither_the_consumers_later_words_nor_a_reporters_account(
    scene, api, make_key, after_receipt
):
    from complaints import services
    from tests.factories import UserFactory

    reviewer = Actor.for_user(UserFactory(roles=["compliance_reviewer"]))
    complaint = scene.file(source=Source.API, platform_ref="app-c")
    services.case_request_info(case=complaint, message="请留下收货地址", actor=reviewer)
    services.case_consumer_add_info(case=complaint, text="杭州市西湖区某路1号，13812345678")
    report = scene.file(
        kind="report", session=scene.session, report_category="tobacco", order_number=""
    )
    _key, raw = make_key(party=scene.merchant, name="merchant-key")
    merchant_client = client_with(raw)

    timeline = merchant_client.get(f"{COMPLAINTS}{complaint.tracking_code}/").json()["timeline"]
    messages = {event["kind"]: event["message"] for event in timeline}
    assert messages["info_added"] == messages["info_requested"] == ""
    assert "13812345678" not in str(timeline)
    assert merchant_client.get(f"{COMPLAINTS}{report.tracking_code}/").json()["facts"] == ""
    # The platform itself reads both.
    platform = api.get(f"{COMPLAINTS}{complaint.tracking_code}/").json()["timeline"]
    assert "13812345678" in str(platform)
    assert api.get(f"{COMPLAINTS}{report.tracking_code}/").json()["facts"] == report.facts


def test_a_party_bound_key_does_not_read_why_the_consumer_withdrew(
    scene, api, make_key, after_receipt
):
    complaint = scene.file(source=Source.API, platform_ref="app-w")
    services.case_withdraw(
        case=complaint,
        reason="已和商家私下协商，联系我 13812345678，杭州市西湖区某路1号",
        actor=Actor(label="consumer"),
    )
    _key, raw = make_key(party=scene.merchant, name="merchant-key")

    timeline = client_with(raw).get(f"{COMPLAINTS}{complaint.tracking_code}/").json()["timeline"]

    assert {event["kind"]: event["message"] for event in timeline}["withdrawn"] == ""
    assert "13812345678" not in str(timeline)
    # The platform, which forwards for the consumer, reads it.
    assert "13812345678" in str(api.get(f"{COMPLAINTS}{complaint.tracking_code}/").json())


def test_the_platform_cannot_act_for_the_consumer_on_a_case_filed_on_the_web_form(
    scene, api, after_receipt, tmp_path
):
    case = scene.file()  # on our public form: the consumer holds the only link
    path = f"{COMPLAINTS}{case.tracking_code}/"

    assert api.get(path).json()["tracking_url"] is None
    assert api.post(f"{path}withdraw/", {}, format="json").status_code == 403
    assert api.post(f"{path}information/", {"text": "补充"}, format="json").status_code == 403
    evidence = api.post(f"{path}evidence/", {"images": [image()]}, format="multipart")
    assert evidence.status_code == 403
    case.refresh_from_db()
    assert case.status == CaseStatus.NEW
    assert not Evidence.objects.exists()
    assert not stored_files(tmp_path)


def test_a_party_bound_key_cannot_file_withdraw_or_add_to_cases(scene, make_key, after_receipt):
    own = scene.file()
    _key, raw = make_key(party=scene.merchant, name="merchant-writer")
    client = client_with(raw)
    code = own.tracking_code

    assert client.post(COMPLAINTS, complaint(scene), format="json").status_code == 403
    assert client.post(f"{COMPLAINTS}{code}/withdraw/", {}, format="json").status_code == 403
    info = client.post(f"{COMPLAINTS}{code}/information/", {"text": "已处理"}, format="json")
    assert info.status_code == 403
    evidence = client.post(
        f"{COMPLAINTS}{code}/evidence/", {"images": [image()]}, format="multipart"
    )
    assert evidence.status_code == 403
    own.refresh_from_db()
    assert own.status == CaseStatus.NEW
    assert Case.objects.count() == 1
    assert not Evidence.objects.exists()


# --- reading -------------------------------------------------------------------------------------


def test_the_detail_shows_the_public_timeline_and_not_internal_notes(
    scene, api, after_receipt, reviewer_actor
):
    code = file_via_api(api, complaint(scene))["tracking_code"]
    case = Case.objects.get(tracking_code=code)
    services.case_note(case=case, text="商家过往有类似投诉", actor=reviewer_actor)
    services.case_accept(case=case, actor=reviewer_actor, message="已受理，正在联系商家。")

    # Tracking codes are read out over the phone and may come back in lower case.
    response = api.get(f"{COMPLAINTS}{code.lower()}/")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "accepted"
    assert [(e["kind"], e["status"]) for e in body["timeline"]] == [
        ("filed", "new"),
        ("accepted", "accepted"),
    ]
    assert body["timeline"][1]["message"] == "已受理，正在联系商家。"
    assert "商家过往有类似投诉" not in response.content.decode()
    assert body["mediation_due"] is not None


def test_an_unknown_tracking_code_is_a_json_404(api):
    response = api.get(f"{COMPLAINTS}CNOSUCHCAS/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def codes(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [c["tracking_code"] for c in response.json()["results"]]


def test_cases_filter_by_status_kind_party_session_time_outcome_and_platform_ref(
    scene, api, time_machine, reviewer_actor
):
    time_machine.move_to(datetime(2025, 11, 1, 9, tzinfo=SHANGHAI), tick=False)
    other = register_party(PartyKind.MERCHANT)
    early = scene.file(received_at=datetime(2025, 10, 10, 9, tzinfo=SHANGHAI), order_number="A")
    late = scene.file(
        merchant=other,
        received_at=datetime(2025, 10, 20, 9, tzinfo=SHANGHAI),
        order_number="B",
        platform_ref="app-late",
        source=Source.API,
    )
    seen = services.case_file(
        data=services.CaseInput(
            kind="report",
            facts="主播让大家加微信",
            session=scene.session,
            report_category="offline_transaction",
        ),
        source=Source.API,
        actor=TEST_ACTOR,
        received_at=datetime(2025, 10, 25, 9, tzinfo=SHANGHAI),
    ).case
    services.case_accept(case=early, actor=reviewer_actor)
    services.case_decide(
        case=early, outcome=Outcome.UNFOUNDED, note="商品检测合格。", actor=reviewer_actor
    )

    assert codes(api.get(COMPLAINTS, {"status": "decided"})) == [early.tracking_code]
    assert codes(api.get(COMPLAINTS, {"outcome": "unfounded"})) == [early.tracking_code]
    assert codes(api.get(COMPLAINTS, {"kind": "report"})) == [seen.tracking_code]
    assert set(codes(api.get(COMPLAINTS, {"merchant": scene.merchant.pk}))) == {
        early.tracking_code,
        seen.tracking_code,
    }
    assert codes(api.get(COMPLAINTS, {"session": scene.session.pk})) == [seen.tracking_code]
    window = {
        "received_after": "2025-10-15T00:00:00+08:00",
        "received_before": "2025-10-21T00:00:00+08:00",
    }
    assert codes(api.get(COMPLAINTS, window)) == [late.tracking_code]
    assert codes(api.get(COMPLAINTS, {"platform_ref": "app-late"})) == [late.tracking_code]


def test_bad_filter_values_are_a_400_naming_them(api):
    response = api.get(COMPLAINTS, {"status": "lost", "received_after": "last week"})
    assert response.status_code == 400
    assert set(response.json()) == {"status", "received_after"}


def test_the_list_query_count_does_not_grow_with_the_page(scene, api, after_receipt):
    for n in range(12):
        case = scene.file(order_number=f"ORD-{n}")
        services.case_add_evidence(
            case=case,
            images=[services_image(colour) for colour in ("red", "blue")],
            actor=TEST_ACTOR,
            added_by="api",
        )

    def queries(page_size: int) -> int:
        api.get("/api/v1/key/")  # settle last_used_at so it is not written during the count
        with CaptureQueriesContext(connection) as ctx:
            response = api.get(COMPLAINTS, {"page_size": page_size})
        assert response.status_code == 200
        assert {c["evidence_count"] for c in response.json()["results"]} == {2}
        return len(ctx)

    assert queries(2) == queries(12)


# --- evidence ------------------------------------------------------------------------------------


def test_evidence_images_are_cleaned_stored_and_counted(scene, platform, after_receipt, tmp_path):
    key, client = platform
    code = file_via_api(client, complaint(scene))["tracking_code"]

    response = client.post(
        f"{COMPLAINTS}{code}/evidence/",
        {"images": [image("a.png", "red"), image("b.png", "blue")]},
        format="multipart",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["evidence_count"] == 2
    assert [(e["content_type"], e["width"], e["height"]) for e in body["added"]] == [
        ("image/png", 8, 8),
        ("image/png", 8, 8),
    ]
    assert set(Evidence.objects.values_list("added_by", flat=True)) == {"api"}
    assert len(stored_files(tmp_path)) == 2
    event = CaseEvent.objects.get(kind=CaseEvent.Kind.EVIDENCE_ADDED)
    assert event.actor_label == f"api:{key.name}"
    assert api_detail(client, code)["evidence_count"] == 2

    # The same picture again is not stored twice.
    again = client.post(
        f"{COMPLAINTS}{code}/evidence/", {"images": [image("c.png", "red")]}, format="multipart"
    )
    assert again.status_code == 201
    assert (again.json()["added"], again.json()["evidence_count"]) == ([], 2)


def api_detail(client, code: str) -> dict:
    return client.get(f"{COMPLAINTS}{code}/").json()


@pytest.mark.parametrize(
    "bad",
    [
        ("notes.png", b"just some text, not an image", "image/png"),
        ("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', "image/svg+xml"),
    ],
)
def test_a_refused_image_stores_nothing_even_beside_a_good_one(
    scene, api, after_receipt, tmp_path, bad
):
    code = file_via_api(api, complaint(scene))["tracking_code"]

    response = api.post(
        f"{COMPLAINTS}{code}/evidence/",
        {"images": [image(), SimpleUploadedFile(*bad)]},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 400
    [message] = response.json()["images"]
    assert message.startswith("Image 2: ")
    assert "JPEG, PNG or WebP" in message
    assert not Evidence.objects.exists()
    assert not stored_files(tmp_path)
    assert not CaseEvent.objects.filter(kind=CaseEvent.Kind.EVIDENCE_ADDED).exists()


def test_no_images_is_a_400(scene, api, after_receipt):
    code = file_via_api(api, complaint(scene))["tracking_code"]
    response = api.post(f"{COMPLAINTS}{code}/evidence/", {}, format="multipart")
    assert response.status_code == 400
    assert "images" in response.json()


def test_a_case_holds_at_most_nine_images(scene, api, after_receipt, tmp_path):
    code = file_via_api(api, complaint(scene))["tracking_code"]
    colours = ["red", "green", "blue", "yellow", "white", "black", "gray", "orange", "purple"]
    path = f"{COMPLAINTS}{code}/evidence/"

    ten = api.post(
        path, {"images": [image(colour=c) for c in [*colours, "pink"]]}, format="multipart"
    )
    assert ten.status_code == 400
    assert "images" in ten.json()
    assert not Evidence.objects.exists()

    eight = api.post(path, {"images": [image(colour=c) for c in colours[:8]]}, format="multipart")
    assert eight.status_code == 201
    two_more = api.post(
        path, {"images": [image(colour="pink"), image(colour="navy")]}, format="multipart"
    )
    assert two_more.status_code == 400
    assert "9" in two_more.json()["images"][0]
    assert Evidence.objects.count() == 8
    assert len(stored_files(tmp_path)) == 8
    assert api.post(path, {"images": [image(colour="pink")]}, format="multipart").status_code == 201


def test_evidence_for_a_withdrawn_case_is_a_409(scene, api, after_receipt, tmp_path):
    code = file_via_api(api, complaint(scene))["tracking_code"]
    assert api.post(f"{COMPLAINTS}{code}/withdraw/", {}, format="json").status_code == 200

    response = api.post(f"{COMPLAINTS}{code}/evidence/", {"images": [image()]}, format="multipart")

    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert not Evidence.objects.exists()
    assert not stored_files(tmp_path)


def test_evidence_for_an_unknown_case_is_a_404(api, scene):
    response = api.post(
        f"{COMPLAINTS}CNOSUCHCAS/evidence/", {"images": [image()]}, format="multipart"
    )
    assert response.status_code == 404


# --- acting for the consumer ---------------------------------------------------------------------


def test_withdrawing_in_the_app_closes_the_case_in_the_keys_name(scene, platform, after_receipt):
    key, client = platform
    code = file_via_api(client, complaint(scene))["tracking_code"]

    response = client.post(f"{COMPLAINTS}{code}/withdraw/", {"reason": "商家已退款"}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "withdrawn"
    assert response.json()["timeline"][-1]["kind"] == "withdrawn"
    event = CaseEvent.objects.get(kind=CaseEvent.Kind.WITHDRAWN)
    assert (event.actor_label, event.message) == (f"api:{key.name}", "商家已退款")
    again = client.post(f"{COMPLAINTS}{code}/withdraw/", {}, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"


def test_information_from_the_app_resumes_a_case_waiting_for_the_consumer(
    scene, platform, time_machine, reviewer_actor
):
    key, client = platform
    time_machine.move_to(datetime(2025, 9, 30, 9, tzinfo=SHANGHAI), tick=False)
    code = file_via_api(client, complaint(scene))["tracking_code"]
    case = Case.objects.get(tracking_code=code)
    services.case_request_info(case=case, message="请提供订单截图。", actor=reviewer_actor)
    assert api_detail(client, code)["clock_paused"] is True
    # Three working days later (Oct 9, 10, 11): the acceptance deadline moves on by as many.
    time_machine.move_to(datetime(2025, 10, 11, 9, tzinfo=SHANGHAI), tick=False)

    response = client.post(
        f"{COMPLAINTS}{code}/information/", {"text": "订单截图已在App内上传。"}, format="json"
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["clock_paused"]) == ("new", False)
    assert body["acceptance_due"] == add_working_days(date(2025, 10, 15), 3).due.isoformat()
    event = CaseEvent.objects.get(kind=CaseEvent.Kind.INFO_ADDED)
    assert (event.actor_label, event.message) == (f"api:{key.name}", "订单截图已在App内上传。")


def test_information_must_have_text_and_a_closed_case_takes_none(scene, api, after_receipt):
    code = file_via_api(api, complaint(scene))["tracking_code"]
    path = f"{COMPLAINTS}{code}/information/"

    assert api.post(path, {"text": "  "}, format="json").status_code == 400
    api.post(f"{COMPLAINTS}{code}/withdraw/", {}, format="json")
    closed = api.post(path, {"text": "还有一点"}, format="json")
    assert closed.status_code == 409
    assert not CaseEvent.objects.filter(kind=CaseEvent.Kind.INFO_ADDED).exists()


# --- the webhook ---------------------------------------------------------------------------------


def test_every_status_change_is_queued_as_a_signed_webhook(scene, api, after_receipt):
    endpoint, _secret = webhook_endpoint_create(
        name="platform", url="https://platform.example.com/hooks", actor=TEST_ACTOR
    )
    body = complaint(scene, platform_ref="app-webhook-1")
    code = file_via_api(api, body)["tracking_code"]
    api.post(f"{COMPLAINTS}{code}/withdraw/", {"reason": "不需要了"}, format="json")

    deliveries = WebhookDelivery.objects.filter(topic="complaint.status_changed").order_by("id")
    assert [d.endpoint_id for d in deliveries] == [endpoint.pk, endpoint.pk]
    filed, withdrawn = (d.payload for d in deliveries)
    assert (filed["event"], filed["status"]) == ("filed", "new")
    assert (withdrawn["event"], withdrawn["status"]) == ("withdrawn", "withdrawn")
    for payload in (filed, withdrawn):
        assert payload["tracking_code"] == code
        assert payload["platform_ref"] == "app-webhook-1"
        assert payload["acceptance_due"] == "2025-10-15"
    # Filing again under the same platform_ref changes nothing and sends nothing.
    assert api.post(COMPLAINTS, body, format="json").status_code == 200
    assert WebhookDelivery.objects.filter(topic="complaint.status_changed").count() == 2


# --- evaluations ---------------------------------------------------------------------------------


def evaluation(scene, **overrides) -> dict:
    body = {
        "platform_ref": f"eval-{next(_refs)}",
        "merchant_id": scene.merchant.pk,
        "order_number": "ORD-77",
        "stars_description": 4,
        "stars_service": 5,
        "stars_logistics": 3,
        "text": "围巾质量不错，物流有点慢。",
    }
    body.update(overrides)
    return body


def test_an_evaluation_is_stored_once_per_platform_ref(scene, api):
    body = evaluation(scene, anchor_id=scene.anchor.pk, stars_anchor_honesty=2)

    first = api.post(EVALUATIONS, body, format="json")
    again = api.post(EVALUATIONS, {**body, "stars_service": 1}, format="json")

    assert (first.status_code, again.status_code) == (201, 200), first.json()
    stored = first.json()
    assert again.json() == stored
    assert {k: stored[k] for k in ("merchant_id", "anchor_id", "source", "hidden_at")} == {
        "merchant_id": scene.merchant.pk,
        "anchor_id": scene.anchor.pk,
        "source": "api",
        "hidden_at": None,
    }
    assert (stored["stars_service"], stored["stars_anchor_honesty"]) == (5, 2)
    assert Evaluation.objects.count() == 1


def test_an_evaluations_order_number_typed_in_full_width_is_stored_folded(scene, api):
    response = api.post(EVALUATIONS, evaluation(scene, order_number="ＯＲＤ－７７"), format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["order_number"] == "ORD-77"


def test_an_evaluation_of_a_session_names_the_rooms_owner(scene, api):
    body = evaluation(scene, session_id=scene.session.pk)
    del body["merchant_id"]
    response = api.post(EVALUATIONS, body, format="json")
    assert response.status_code == 201, response.json()
    assert (response.json()["merchant_id"], response.json()["session_id"]) == (
        scene.merchant.pk,
        scene.session.pk,
    )


BAD_EVALUATIONS = {
    "nobody evaluated": (lambda s: _drop(evaluation(s), "merchant_id"), "merchant_id"),
    "unknown merchant": (lambda s: evaluation(s, merchant_id=999_999), "merchant_id"),
    "an anchor as merchant": (lambda s: evaluation(s, merchant_id=s.anchor.pk), "merchant_id"),
    "six stars": (lambda s: evaluation(s, stars_service=6), "stars_service"),
    "zero stars": (lambda s: evaluation(s, stars_logistics=0), "stars_logistics"),
    "honesty without an anchor": (
        lambda s: evaluation(s, stars_anchor_honesty=4),
        "stars_anchor_honesty",
    ),
    "no order number": (lambda s: _drop(evaluation(s), "order_number"), "order_number"),
    "no platform_ref": (lambda s: _drop(evaluation(s), "platform_ref"), "platform_ref"),
}


@pytest.mark.parametrize("case", BAD_EVALUATIONS)
def test_a_bad_evaluation_is_a_400_naming_the_field(scene, api, case):
    make, field = BAD_EVALUATIONS[case]
    response = api.post(EVALUATIONS, make(scene), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Evaluation.objects.exists()


def test_evaluations_cannot_be_changed_or_deleted_through_the_api(scene, api, make_key):
    stored = api.post(EVALUATIONS, evaluation(scene), format="json").json()
    path = f"{EVALUATIONS}{stored['id']}/"
    _key, raw = make_key(party=scene.merchant, name="evaluated-merchant")
    evaluated = client_with(raw)

    for client in (api, evaluated):
        assert (
            client.put(path, evaluation(scene, stars_service=1), format="json").status_code == 405
        )
        assert client.patch(path, {"stars_service": 1}, format="json").status_code == 405
        assert client.delete(path).status_code == 405
    # Nor can the party evaluated write evaluations of its own.
    assert evaluated.post(EVALUATIONS, evaluation(scene), format="json").status_code == 403
    assert Evaluation.objects.get().stars_service == 5
    assert Evaluation.objects.count() == 1


def test_the_list_shows_hidden_evaluations_with_the_reason(scene, api, reviewer_actor):
    other = register_party(PartyKind.MERCHANT)
    kept = api.post(EVALUATIONS, evaluation(scene), format="json").json()
    hidden = api.post(EVALUATIONS, evaluation(scene, text="加我微信13900000000"), format="json")
    elsewhere = api.post(EVALUATIONS, evaluation(scene, merchant_id=other.pk), format="json")
    services.evaluation_hide(
        evaluation=Evaluation.objects.get(pk=hidden.json()["id"]),
        reason="含个人联系方式",
        actor=reviewer_actor,
    )

    listed = api.get(EVALUATIONS, {"party": scene.merchant.pk}).json()["results"]
    assert [e["id"] for e in listed] == [hidden.json()["id"], kept["id"]]
    assert listed[0]["hidden_reason"] == "含个人联系方式"
    assert listed[0]["hidden_at"] is not None
    visible = api.get(EVALUATIONS, {"party": scene.merchant.pk, "hidden": "false"}).json()
    assert [e["id"] for e in visible["results"]] == [kept["id"]]
    assert [e["id"] for e in api.get(EVALUATIONS, {"merchant": other.pk}).json()["results"]] == [
        elsewhere.json()["id"]
    ]


def test_a_party_bound_key_reads_only_its_own_evaluations(scene, api, make_key):
    other = register_party(PartyKind.MERCHANT)
    own = api.post(EVALUATIONS, evaluation(scene), format="json").json()
    theirs = api.post(EVALUATIONS, evaluation(scene, merchant_id=other.pk), format="json").json()
    _key, raw = make_key(scopes=["evaluations:read"], party=scene.merchant, name="m-eval")
    client = client_with(raw)

    assert [e["id"] for e in client.get(EVALUATIONS).json()["results"]] == [own["id"]]
    assert client.get(f"{EVALUATIONS}{theirs['id']}/").status_code == 404
    assert client.get(f"{EVALUATIONS}{own['id']}/").status_code == 200


def test_evaluation_scopes_are_separate_from_complaint_scopes(scene, make_key):
    _key, raw = make_key(scopes=["complaints:read", "complaints:write"], name="complaints-only")
    client = client_with(raw)
    assert client.get(EVALUATIONS).status_code == 403
    assert client.post(EVALUATIONS, evaluation(scene), format="json").status_code == 403


# --- the schema ----------------------------------------------------------------------------------


def test_the_schema_documents_every_endpoint_and_its_errors(tmp_path):
    out = tmp_path / "schema.yaml"
    # --fail-on-warn: an undocumented response or an ambiguous enum fails here, not in the docs.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))

    paths = yaml.safe_load(out.read_text())["paths"]
    create = paths["/api/v1/complaints/"]["post"]["responses"]
    assert {"200", "201", "400", "401", "403", "429"} <= set(create)
    for action in ("evidence", "withdraw", "information"):
        responses = paths[f"/api/v1/complaints/{{tracking_code}}/{action}/"]["post"]["responses"]
        assert {"400", "401", "403", "404", "409", "429"} <= set(responses)
    evaluation_paths = paths["/api/v1/evaluations/{id}/"]
    assert set(evaluation_paths) - {"parameters"} == {"get"}


def test_a_case_reads_the_same_with_fields_built_once_as_built_for_each_answer(
    scene, api, after_receipt
):
    """CaseOut builds its fields once per language (config.api.serializers.FieldsBuiltOnce):
    the answer is what the REST framework's own get_fields gives, each serializer holds fields
    of its own, and labels are read in the language active when they are read."""
    from rest_framework import serializers

    from complaints.api.serializers import CaseDetailOut

    class Rebuilt(CaseDetailOut):
        def get_fields(self):
            return serializers.ModelSerializer.get_fields(self)

    code = file_via_api(api, complaint(scene, anchor_id=scene.anchor.pk))["tracking_code"]
    case = Case.objects.get(tracking_code=code)
    case.public_events = list(CaseEvent.objects.filter(case=case, public=True).order_by("at", "id"))
    case.evidence_count = 0
    context = {"platform_view": True}
    assert CaseDetailOut(case, context=context).data == Rebuilt(case, context=context).data
    first, second = CaseDetailOut(case), CaseDetailOut(case)
    assert first.fields["purchase"] is not second.fields["purchase"]
    assert first.fields["purchase"].parent is first
    with translation.override("en"):
        assert CaseDetailOut().fields["purchase"].label == "What was bought"
    with translation.override("zh-hans"):
        label = CaseDetailOut().fields["purchase"].label
        assert label == Rebuilt().fields["purchase"].label != "What was bought"
