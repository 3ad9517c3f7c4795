"""The public web side: filing complaints, reports and evaluations without an account or
JavaScript, and following a case through its private tracking link.

Parties and sessions are found by name through the form's own Search button; what the final
submit carries is re-checked on the server. Tracking pages answer every wrong link alike.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from PIL import Image

from accounts.actors import Actor
from accounts.models import Party, PartyKind
from accounts.uploads import clean_image
from complaints import search, services
from complaints.forms import stream_offset
from complaints.models import Case, CaseEvent, CaseStatus, Evaluation, Evidence
from liverooms.models import LiveSession, SessionStatus
from liverooms.services import room_register
from tests.factories import TEST_ACTOR, register_party

pytestmark = pytest.mark.django_db

COLOURS = ["red", "green", "blue", "yellow", "purple", "orange", "black", "white", "grey", "pink"]


def png(name: str = "photo.png", colour: str = "red") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (12, 12), colour).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def stored_files(root) -> list:
    return [path for path in root.rglob("*") if path.is_file()]


def normalised(html: str) -> str:
    """A page without what differs on every request: the masked CSRF token, and the language
    switch's `next`, which is the address the browser asked for."""
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    return re.sub(r'name="next" value="[^"]+"', "", html)


def complaint_data(scene, **overrides) -> dict:
    data = {
        "action": "submit",
        "merchant": scene.merchant.pk,
        "order_number": "ORD-2001",
        "purchase": "真丝围巾",
        "category": "false_advertising",
        "facts": "主播说是100%桑蚕丝，收到后是化纤。",
        "request": "refund",
        "request_detail": "全额退款 299 元",
        "contact_name": "王女士",
        "contact_email": "wang@example.com",
        "contact_phone": "13812345678",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def english(client):
    """The test client after the language switch: for tests that read messages."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def track_path(case: Case) -> str:
    return reverse("complaints:track", args=[case.tracking_code, services.tracking_token(case)])


def reviewer(scene) -> Actor:
    return Actor.for_user(scene.reviewer)


@contextmanager
def nul_in_queries() -> Iterator[list[str]]:
    """The query parameters that hold a NUL byte. SQLite takes them; PostgreSQL (psycopg 3), the
    production database, refuses them with an error, so a test on SQLite catches them here."""
    found: list[str] = []

    def record(execute, sql, params, many, context):
        for row in params if many else [params]:
            found.extend(p for p in row or () if isinstance(p, str) and "\x00" in p)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield found


# --- The forms as pages ------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/complaints/new/", "/reports/new/", "/evaluations/new/"])
def test_each_form_is_chinese_by_default_with_a_label_for_every_input(client, public, url):
    response = client.get(url)

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert 'name="csrfmiddlewaretoken"' in html
    ids = re.findall(r'<(?:input|select|textarea)[^>]*\sid="([^"]+)"', html)
    assert ids
    for input_id in ids:
        assert f'for="{input_id}"' in html, input_id
    # The landing page links here.
    assert f'href="{url}"' in client.get("/").content.decode()


def test_the_complaint_form_asks_phones_for_the_right_keyboard(client, public):
    html = client.get("/complaints/new/").content.decode()

    assert re.search(r'<input type="email" name="contact_email"[^>]*autocomplete="email"', html)
    assert re.search(r'<input type="tel" name="contact_phone"[^>]*inputmode="tel"', html)
    assert re.search(r'name="contact_name"[^>]*autocomplete="name"', html)
    assert 'enctype="multipart/form-data"' in html
    evidence = re.search(r'<input type="file" name="evidence"[^>]*>', html).group(0)
    assert "multiple" in evidence
    assert 'accept="image/jpeg,image/png,image/webp"' in evidence
    # Errors come from the server in one summary; the Search button is the form's first, so
    # Enter in a field searches rather than files.
    assert re.search(r'<form class="public-form" method="post" novalidate', html)
    assert html.index('value="search"') < html.index('value="submit"')


# --- Search without JavaScript -----------------------------------------------------------------


def test_search_lists_approved_parties_and_sessions_and_keeps_what_was_typed(client, public):
    register_party(PartyKind.MERCHANT, name="西子良品旗舰店")  # not approved: never offered

    response = client.post(
        "/complaints/new/",
        {"action": "search", "q": "西子", "facts": "已经写好的经过", "order_number": "ORD-7"},
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(
        rf'name="merchant" value="{public.merchant.pk}"[^>]*>\s*西子良品</label>', html
    )
    assert "西子良品旗舰店" not in html
    assert re.search(rf'name="session" value="{public.session.pk}"', html)
    assert "西子良品直播间" in html
    assert "已经写好的经过</textarea>" in html
    assert 'value="ORD-7"' in html
    # A search is not a submission: no errors shown, nothing stored.
    assert "error-summary" not in html
    assert Case.objects.count() == 0


def test_a_second_search_keeps_the_party_chosen_in_the_first(client, public):
    response = client.post(
        "/complaints/new/", {"action": "search", "q": "小雨", "merchant": public.merchant.pk}
    )

    html = response.content.decode()
    assert re.search(rf'name="anchor" value="{public.anchor.pk}"', html)
    assert re.search(rf'name="merchant" value="{public.merchant.pk}"[^>]*checked', html)


def test_a_long_list_of_matches_is_cut_and_the_page_asks_for_more_words(english, public):
    for n in range(search.RESULTS + 2):
        Party.objects.filter(pk=register_party(PartyKind.MERCHANT, name=f"西子{n}号店").pk).update(
            approved_at=timezone.now()
        )

    html = english.post("/complaints/new/", {"action": "search", "q": "西子"}).content.decode()

    assert len(re.findall(r'name="merchant" value="\d+"', html)) == search.RESULTS
    assert "西子良品</label>" in html  # the shortest name, likeliest meant, comes first
    assert "add words to narrow the search" in html


def test_a_search_that_finds_nothing_says_so(client, public):
    html = client.post("/complaints/new/", {"action": "search", "q": "不存在的店"}).content.decode()

    assert "不存在的店" in html
    assert 'name="merchant"' not in html


@pytest.mark.parametrize("path", ["/complaints/new/", "/reports/new/", "/evaluations/new/"])
def test_a_search_text_with_a_nul_byte_searches_nothing_and_a_submission_says_why(
    english, public, path
):
    """PostgreSQL refuses a NUL byte in a query: the search box's field refuses it, as Django's
    text fields do."""
    with nul_in_queries() as nul:
        linked = english.get(path, {"q": "西子\x00"})
        searched = english.post(path, {"action": "search", "q": "西子\x00"})
        submitted = english.post(path, {"action": "submit", "q": "西子\x00"})

    assert (linked.status_code, searched.status_code, submitted.status_code) == (200, 200, 200)
    assert nul == []
    assert 'id="id_q_error"' in submitted.content.decode()
    assert "Null characters are not allowed" in submitted.content.decode()


def test_a_search_drops_attached_images_and_says_so(english, public):
    response = english.post(
        "/complaints/new/", {"action": "search", "q": "西子", "evidence": [png()]}
    )

    assert "attach them again" in response.content.decode()
    assert stored_files(public.media) == []


def test_other_pages_can_link_to_the_form_with_the_party_chosen(client, public):
    html = client.get(f"/complaints/new/?merchant={public.merchant.pk}").content.decode()

    assert re.search(rf'name="merchant" value="{public.merchant.pk}"[^>]*checked', html)


# What str.isdigit() takes but no id is: int() refuses '²', '①' and more than 4,300 digits;
# 2**63 is past any 64-bit key.
NOT_IDS = ["²", "①", "9" * 5000, str(2**63)]


@pytest.mark.parametrize("value", NOT_IDS)
@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/complaints/new/", "merchant"),
        ("/complaints/new/", "anchor"),
        ("/reports/new/", "session"),
        ("/evaluations/new/", "merchant"),
    ],
)
def test_an_id_in_the_address_that_no_row_can_have_is_ignored(client, public, path, field, value):
    response = client.get(path, {field: value, "q": "西子"})

    assert response.status_code == 200
    assert not re.search(rf'name="{field}" value="[^"]*"[^>]*checked', response.content.decode())


@pytest.mark.parametrize("value", NOT_IDS)
def test_the_search_button_with_an_id_that_no_row_can_have_still_searches(client, public, value):
    response = client.post("/complaints/new/", {"action": "search", "q": "西子", "merchant": value})

    assert response.status_code == 200
    assert re.search(rf'name="merchant" value="{public.merchant.pk}"', response.content.decode())


@pytest.mark.parametrize("value", NOT_IDS)
def test_a_submission_with_an_id_that_no_row_can_have_is_a_field_error(english, public, value):
    response = english.post("/complaints/new/", complaint_data(public, merchant=value))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_merchant_error"' in html
    assert "This choice is not available" in html
    assert Case.objects.count() == 0


# --- Filing a complaint ------------------------------------------------------------------------


def test_a_complaint_is_filed_in_chinese_and_the_tracking_link_is_shown_and_emailed(
    client, public, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/complaints/new/",
            {**complaint_data(public), "evidence": [png("a.png", "red"), png("b.png", "blue")]},
        )

    assert response.status_code == 302
    assert response["Location"] == reverse("complaints:filed")
    case = Case.objects.get()
    assert case.kind == "complaint"
    assert case.source == "web"
    assert case.language == "zh-hans"
    assert case.merchant == public.merchant
    assert case.order_number == "ORD-2001"
    assert case.request == "refund"
    assert case.evidence.count() == 2
    assert services.contact_email(case) == "wang@example.com"

    page = client.get(response["Location"])
    html = page.content.decode()
    link = "http://testserver" + track_path(case)
    assert case.tracking_code in html
    assert link in html
    assert page["Cache-Control"] == "no-store, private"
    assert page["Referrer-Policy"] == "strict-origin"

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["wang@example.com"]
    assert "您好" in mail.body
    assert settings.SITE_URL + track_path(case) in mail.body
    assert client.get(track_path(case)).status_code == 200


def test_a_complaint_is_filed_in_english_after_the_language_switch(
    public, mailoutbox, django_capture_on_commit_callbacks
):
    client = Client(enforce_csrf_checks=True)
    token = client.get("/").cookies["csrftoken"].value
    client.post("/i18n/setlang/", {"language": "en", "next": "/", "csrfmiddlewaretoken": token})

    page = client.get("/complaints/new/")
    assert '<html lang="en">' in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/complaints/new/", {**complaint_data(public), "csrfmiddlewaretoken": token}
        )

    assert response.status_code == 302
    assert Case.objects.get().language == "en"
    assert "Hello" in mailoutbox[0].body
    assert "Your complaint is received" in client.get(response["Location"]).content.decode()


def test_a_phone_only_complainant_is_told_to_save_the_link(english, public, mailoutbox):
    response = english.post(
        "/complaints/new/", complaint_data(public, contact_email=""), follow=True
    )

    html = response.content.decode()
    assert "You gave no e-mail address" in html
    assert track_path(Case.objects.get()) in html
    assert mailoutbox == []


def test_the_confirmation_page_without_a_filing_goes_to_the_start_page(client, db):
    response = client.get("/complaints/filed/")

    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.parametrize(
    ("missing", "field"),
    [
        ({"merchant": None}, "q"),
        ({"facts": ""}, "facts"),
        ({"request": None}, "request"),
        ({"category": ""}, "category"),
        ({"contact_email": "", "contact_phone": ""}, "contact_email"),
        ({"contact_email": "not-an-address"}, "contact_email"),
        ({"contact_phone": "call me"}, "contact_phone"),
    ],
)
def test_a_complaint_missing_what_it_needs_is_refused_with_the_field_named(
    client, public, missing, field
):
    response = client.post("/complaints/new/", complaint_data(public, **missing))

    assert response.status_code == 200
    html = response.content.decode()
    assert "error-summary" in html
    assert f'id="id_{field}_error"' in html
    assert Case.objects.count() == 0
    # What was typed is still there.
    assert "ORD-2001" in html


def test_a_bad_image_refuses_the_filing_and_names_the_file(english, public):
    fake = SimpleUploadedFile("收据.gif", b"GIF89a not really", content_type="image/gif")

    response = english.post(
        "/complaints/new/", {**complaint_data(public), "evidence": [png("ok.png"), fake]}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "收据.gif: The file is not a JPEG, PNG or WebP image." in html
    assert "attach them again" in html
    assert Case.objects.count() == 0
    assert Evidence.objects.count() == 0
    assert stored_files(public.media) == []


def test_more_than_nine_images_are_refused(english, public):
    images = [png(f"{n}.png", colour) for n, colour in enumerate(COLOURS)]

    response = english.post("/complaints/new/", {**complaint_data(public), "evidence": images})

    assert "You attached 10 images; at most 9 are accepted." in response.content.decode()
    assert Case.objects.count() == 0
    assert stored_files(public.media) == []


@pytest.mark.parametrize(
    "tamper",
    [
        lambda s: {"merchant": 999_999},
        lambda s: {"merchant": s.anchor.pk},  # an anchor sent as the merchant
        lambda s: {"merchant": "1 OR 1=1"},
        lambda s: {"merchant": register_party(PartyKind.MERCHANT, name="未审核").pk},
        lambda s: {"merchant": "", "anchor": s.merchant.pk},
        lambda s: {"session": 999_999},
    ],
    ids=["unknown", "wrong-kind", "garbage", "unapproved", "merchant-as-anchor", "no-session"],
)
def test_unknown_or_tampered_ids_are_a_field_error_and_nothing_is_stored(english, public, tamper):
    overrides = tamper(public)
    field = next(name for name, value in overrides.items() if value != "")

    response = english.post("/complaints/new/", complaint_data(public, **overrides))

    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="id_{field}_error"' in html
    assert "This choice is not available" in html
    assert Case.objects.count() == 0


def test_a_form_post_without_the_csrf_token_is_refused(public):
    client = Client(enforce_csrf_checks=True)

    refused = client.post("/complaints/new/", complaint_data(public))
    token = client.get("/complaints/new/").cookies["csrftoken"].value
    accepted = client.post(
        "/complaints/new/", {**complaint_data(public), "csrfmiddlewaretoken": token}
    )

    assert refused.status_code == 403
    assert accepted.status_code == 302
    assert Case.objects.count() == 1


# --- Filing a report ---------------------------------------------------------------------------


def test_a_report_names_a_session_and_the_time_seen_becomes_the_offset(client, public):
    start = timezone.localtime().replace(second=0, microsecond=0) - timedelta(hours=2)
    LiveSession.objects.filter(pk=public.session.pk).update(started_at=start)
    seen = (start + timedelta(minutes=25)).strftime("%H:%M")

    response = client.post(
        "/reports/new/",
        {
            "action": "submit",
            "session": public.session.pk,
            "report_category": "offline_transaction",
            "seen_at": seen,
            "facts": "主播让大家加微信私下转账。",
            "evidence": [png()],
        },
    )

    assert response.status_code == 302
    case = Case.objects.get()
    assert case.kind == "report"
    assert case.session == public.session
    assert case.merchant == public.merchant  # the room's owner
    assert case.report_category == "offline_transaction"
    assert case.stream_offset == timedelta(minutes=25)
    assert case.tracking_code.startswith("R")
    assert case.evidence.count() == 1
    assert case.tracking_code in client.get(response["Location"]).content.decode()


@pytest.mark.parametrize("session", [None, 999_999])
def test_a_report_without_a_known_session_is_refused(client, public, session):
    data = {"action": "submit", "report_category": "tobacco", "facts": "在卖电子烟"}
    if session:
        data["session"] = session

    response = client.post("/reports/new/", data)

    assert 'id="id_session_error"' in response.content.decode()
    assert Case.objects.count() == 0


def _session(started_at, ended_at=None) -> LiveSession:
    return LiveSession(started_at=started_at, ended_at=ended_at, status=SessionStatus.ENDED)


def test_a_clock_time_after_midnight_counts_into_a_stream_that_started_the_day_before():
    start = timezone.make_aware(datetime(2025, 3, 1, 23, 50))
    session = _session(start, start + timedelta(hours=2))

    assert stream_offset(session, time(0, 10)) == timedelta(minutes=20)
    assert stream_offset(session, time(23, 55)) == timedelta(minutes=5)


def test_a_clock_time_after_the_stream_ended_is_refused():
    from django.core.exceptions import ValidationError

    start = timezone.make_aware(datetime(2025, 3, 1, 20, 0))
    session = _session(start, start + timedelta(hours=1))

    with translation.override("en"), pytest.raises(ValidationError, match="had ended"):
        stream_offset(session, time(22, 30))


# --- Evaluations -------------------------------------------------------------------------------


def evaluation_data(scene, **overrides) -> dict:
    data = {
        "action": "submit",
        "merchant": scene.merchant.pk,
        "anchor": scene.anchor.pk,
        "order_number": "ORD-3001",
        "stars_description": "4",
        "stars_service": "5",
        "stars_logistics": "3",
        "stars_anchor_honesty": "2",
        "text": "围巾不错，主播夸大了。",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_an_evaluation_is_stored_and_thanked_for(client, public):
    response = client.post("/evaluations/new/", evaluation_data(public))

    assert response.status_code == 302
    assert response["Location"] == reverse("complaints:evaluation_thanks")
    evaluation = Evaluation.objects.get()
    assert (evaluation.merchant, evaluation.anchor) == (public.merchant, public.anchor)
    assert (
        evaluation.stars_description,
        evaluation.stars_service,
        evaluation.stars_logistics,
        evaluation.stars_anchor_honesty,
    ) == (4, 5, 3, 2)
    assert evaluation.source == "web"
    assert evaluation.hidden_at is None
    assert client.get(response["Location"]).status_code == 200


def test_the_anchors_honesty_is_rated_only_with_an_anchor(client, public):
    response = client.post("/evaluations/new/", evaluation_data(public, anchor=""))

    assert 'id="id_stars_anchor_honesty_error"' in response.content.decode()
    assert Evaluation.objects.count() == 0

    response = client.post(
        "/evaluations/new/", evaluation_data(public, anchor="", stars_anchor_honesty="")
    )
    assert response.status_code == 302
    assert Evaluation.objects.get().stars_anchor_honesty is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"stars_service": None}, "stars_service"),
        ({"stars_logistics": "9"}, "stars_logistics"),
        ({"order_number": ""}, "order_number"),
        ({"merchant": "", "anchor": "", "stars_anchor_honesty": ""}, "q"),
        ({"anchor": 999_999}, "anchor"),
    ],
)
def test_an_incomplete_evaluation_is_refused(client, public, overrides, field):
    response = client.post("/evaluations/new/", evaluation_data(public, **overrides))

    assert f'id="id_{field}_error"' in response.content.decode()
    assert Evaluation.objects.count() == 0


def test_an_evaluation_in_english(english, public):
    html = english.get("/evaluations/new/").content.decode()

    assert '<html lang="en">' in html
    assert "Was the product as described?" in html
    assert "1 – very poor" in html


# --- Tracking: who may see what ----------------------------------------------------------------


def test_the_tracking_page_shows_status_timeline_and_deadlines_but_nothing_internal(client, public):
    case = public.file()
    services.case_note(case=case, text="内部备注：疑似职业打假", actor=reviewer(public))
    services.case_accept(case=case, actor=reviewer(public), message="已受理，正在联系商家。")
    case.refresh_from_db()

    response = client.get(track_path(case))

    html = response.content.decode()
    assert response.status_code == 200
    assert case.tracking_code in html
    assert case.get_status_display() in html
    assert "已受理，正在联系商家。" in html
    assert case.acceptance_due.strftime("%Y") in html
    assert case.mediation_due is not None
    assert "内部备注" not in html
    assert public.reviewer.username not in html
    assert "wang@example.com" not in html
    assert response["Cache-Control"] == "no-store, private"
    assert response["Referrer-Policy"] == "strict-origin"
    assert "noindex" in response["X-Robots-Tag"]


def test_every_wrong_link_gets_the_same_404_and_learns_nothing(client, public):
    case = public.file()
    other = public.file(order_number="ORD-OTHER", contact_email="li@example.com")
    token = services.tracking_token(case)
    code = case.tracking_code
    modified = code[:-1] + ("2" if code[-1] != "2" else "3")
    wrong_links = [
        f"/track/{code}/{services.tracking_token(other)}/",  # another case's token
        f"/track/{code}/{'0' * 32}/",  # a guessed token
        f"/track/{modified}/{token}/",  # the code changed
        f"/track/CNOSUCHCASE/{token}/",
        f"/track/{code}/{token[:-1]}/",
    ]

    responses = [client.get(link) for link in wrong_links]

    assert {r.status_code for r in responses} == {404}
    bodies = {normalised(r.content.decode()) for r in responses}
    assert len(bodies) == 1
    body = bodies.pop()
    assert code not in body
    assert case.get_status_display() not in body
    assert all(r["Cache-Control"] == "no-store, private" for r in responses)


def wrong_links_no_link_can_have(case: Case) -> list[str]:
    """Links to `case` whose code or token no link can have: non-ASCII (which hmac's
    compare_digest refuses to compare as text) or a NUL byte (which PostgreSQL refuses in a
    query); and the same for an unknown code."""
    code, token = case.tracking_code, services.tracking_token(case)
    return [
        f"/track/{code}/{'é' * 32}/",
        f"/track/{code}/{token[:-1]}ä/",
        f"/track/CNOSUCHCASE/{'é' * 32}/",
        f"/track/{code}%00/{token}/",
        f"/track/%00{code[1:]}/{token}/",
        f"/track/{code[:5]}/{token}/",  # too short to be a code
    ]


def test_a_code_or_token_that_no_link_can_have_gets_the_same_404_from_every_page(
    client, public, settings
):
    settings.COMPLAINT_TRACKING_MISSES_PER_ADDRESS_HOUR = 100  # counted: test_abuse
    case = public.file(evidence=[clean_image(png())])
    pages = ["", f"evidence/{case.evidence.get().pk}/", "withdraw/"]
    actions = ["add/", "withdraw/", "confirm/", "rate/"]

    responses = []
    with nul_in_queries() as nul:
        for link in wrong_links_no_link_can_have(case):
            responses += [client.get(f"{link}{page}") for page in pages]
            responses += [client.post(f"{link}{action}", {"text": "x"}) for action in actions]

    assert {r.status_code for r in responses} == {404}
    assert len({normalised(r.content.decode()) for r in responses}) == 1
    assert nul == []
    case.refresh_from_db()
    assert case.status == CaseStatus.NEW
    assert not case.events.filter(kind=CaseEvent.Kind.INFO_ADDED).exists()


def test_actions_through_a_wrong_link_change_nothing(client, public):
    case = public.file()
    link = f"/track/{case.tracking_code}/{'f' * 32}/"

    for action in ("add", "withdraw", "confirm", "rate"):
        response = client.post(f"{link}{action}/", {"text": "x", "rating": "1"})
        assert response.status_code == 404

    case.refresh_from_db()
    assert case.status == CaseStatus.NEW
    assert not case.events.filter(kind=CaseEvent.Kind.INFO_ADDED).exists()


def test_evidence_is_streamed_only_through_its_own_link(client, public):
    case = public.file(evidence=[clean_image(png("x.png", "green"))])
    other = public.file(order_number="ORD-9", contact_email="li@example.com")
    evidence = case.evidence.get()

    mine = client.get(f"{track_path(case)}evidence/{evidence.pk}/")
    through_other = client.get(f"{track_path(other)}evidence/{evidence.pk}/")

    assert mine.status_code == 200
    assert mine["Content-Type"] == "image/png"
    assert mine["Cache-Control"] == "no-store, private"
    assert b"".join(mine.streaming_content).startswith(b"\x89PNG")
    assert through_other.status_code == 404
    assert f"evidence/{evidence.pk}/" in client.get(track_path(case)).content.decode()


def test_a_pasted_link_opens_the_case_and_a_wrong_one_does_not(english, public):
    case = public.file()

    found = english.post("/track/", {"link": "请打开 http://example.cn" + track_path(case)})
    wrong = english.post("/track/", {"link": f"/track/{case.tracking_code}/{'a' * 32}/"})

    assert found.status_code == 302
    assert found["Location"] == track_path(case)
    assert wrong.status_code == 404
    assert "does not open a case" in wrong.content.decode()


# --- Tracking: what the consumer can do --------------------------------------------------------


def test_adding_information_resumes_a_case_that_was_waiting_for_the_consumer(client, public):
    case = public.file()
    services.case_request_info(case=case, message="请补充订单截图。", actor=reviewer(public))
    html = client.get(track_path(case)).content.decode()
    assert "请补充订单截图。" in html

    response = client.post(
        f"{track_path(case)}add/", {"text": "订单截图见附件。", "evidence": [png("order.png")]}
    )

    assert response.status_code == 302
    assert response["Location"] == track_path(case)
    case.refresh_from_db()
    assert case.status == CaseStatus.NEW
    assert case.evidence.count() == 1
    event = case.events.get(kind=CaseEvent.Kind.INFO_ADDED)
    assert event.message == "订单截图见附件。"
    assert event.actor_label == "consumer"
    assert "订单截图见附件。" in client.get(track_path(case)).content.decode()


def test_added_information_with_a_bad_image_stores_nothing(client, public):
    case = public.file()
    services.case_request_info(case=case, message="请补充。", actor=reviewer(public))
    bomb = SimpleUploadedFile("scan.png", b"\x89PNG\r\n\x1a\n broken", content_type="image/png")

    response = client.post(f"{track_path(case)}add/", {"text": "见附件", "evidence": [bomb]})

    assert response.status_code == 200
    assert "scan.png：" in response.content.decode()  # named in the error, Chinese by default
    case.refresh_from_db()
    assert case.status == CaseStatus.AWAITING_CONSUMER
    assert case.evidence.count() == 0
    assert not case.events.filter(kind=CaseEvent.Kind.INFO_ADDED).exists()


def test_a_case_holds_nine_images_in_all(english, public):
    case = public.file(evidence=[clean_image(png(colour=c)) for c in COLOURS[:8]])

    response = english.post(
        f"{track_path(case)}add/",
        {"text": "更多", "evidence": [png("9.png", "grey"), png("10.png", "pink")]},
    )

    assert "at most 1 are accepted" in response.content.decode()
    assert case.evidence.count() == 8


def test_withdrawing_asks_first_then_closes_the_case(client, public):
    case = public.file()
    path = f"{track_path(case)}withdraw/"

    page = client.get(path)
    assert page.status_code == 200
    assert page["Referrer-Policy"] == "strict-origin"
    case.refresh_from_db()
    assert case.status == CaseStatus.NEW  # asking changed nothing

    response = client.post(path, {"reason": "商家已退款"}, follow=True)

    case.refresh_from_db()
    assert case.status == CaseStatus.WITHDRAWN
    assert case.events.get(kind=CaseEvent.Kind.WITHDRAWN).message == "商家已退款"
    assert 'href="' + path not in response.content.decode()  # no second withdrawal offered


def decided(scene) -> Case:
    case = scene.file()
    services.case_accept(case=case, actor=reviewer(scene))
    return services.case_decide(
        case=case,
        outcome="refund",
        note="商家同意全额退款。",
        refund_fen=29900,
        actor=reviewer(scene),
    )


def test_the_consumer_confirms_a_decided_case(client, public):
    case = decided(public)
    html = client.get(track_path(case)).content.decode()
    assert "299.00" in html
    assert "商家同意全额退款。" in html

    client.post(f"{track_path(case)}confirm/")

    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
    assert case.consumer_confirmed_at is not None


def test_confirming_a_case_not_yet_decided_changes_nothing(english, public):
    case = public.file()

    response = english.post(f"{track_path(case)}confirm/", follow=True)

    case.refresh_from_db()
    assert case.status == CaseStatus.NEW
    assert "not possible now" in response.content.decode()


def test_the_handling_is_rated_once(english, public):
    case = decided(public)

    english.post(f"{track_path(case)}rate/", {"rating": "4", "comment": "处理及时"})
    again = english.post(f"{track_path(case)}rate/", {"rating": "1"}, follow=True)

    case.refresh_from_db()
    assert case.handling_rating == 4
    assert case.handling_comment == "处理及时"
    assert case.events.filter(kind=CaseEvent.Kind.RATED).count() == 1
    assert "already rated" in again.content.decode()


def test_a_rating_without_stars_is_refused(client, public):
    case = decided(public)

    response = client.post(f"{track_path(case)}rate/", {"comment": "?"})

    assert 'id="id_rating_error"' in response.content.decode()
    case.refresh_from_db()
    assert case.handling_rating is None


def test_tracking_actions_need_the_csrf_token(public):
    case = decided(public)
    client = Client(enforce_csrf_checks=True)

    response = client.post(f"{track_path(case)}confirm/")

    assert response.status_code == 403
    case.refresh_from_db()
    assert case.status == CaseStatus.DECIDED


def test_a_session_in_an_unapproved_room_is_not_offered(client, public):
    stranger = register_party(PartyKind.MERCHANT, name="西子山寨店")
    room = room_register(
        owner=stranger,
        platform_ref="room-x",
        title="西子山寨直播间",
        category="apparel",
        followers=1,
        actor=TEST_ACTOR,
    )
    LiveSession.objects.create(room=room, owner=room.owner)

    html = client.post("/reports/new/", {"action": "search", "q": "西子"}).content.decode()

    assert "西子良品直播间" in html
    assert "西子山寨直播间" not in html


def test_tracking_pages_keep_the_origin_header_that_csrf_needs(public):
    """Why the tracking pages say `strict-origin` and not `no-referrer`: under `no-referrer`
    browsers send `Origin: null` with the page's own form posts, and the CSRF check refuses
    those. `strict-origin` sends the bare origin, which passes, and never the path."""
    case = decided(public)
    client = Client(enforce_csrf_checks=True)
    token = client.get(track_path(case)).cookies["csrftoken"].value
    form = {"csrfmiddlewaretoken": token}

    as_under_no_referrer = client.post(f"{track_path(case)}confirm/", form, HTTP_ORIGIN="null")
    as_under_strict_origin = client.post(
        f"{track_path(case)}confirm/", form, HTTP_ORIGIN="http://testserver"
    )

    assert as_under_no_referrer.status_code == 403
    assert as_under_strict_origin.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
