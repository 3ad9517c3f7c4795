"""Anti-abuse on the public forms: limits per address and per contact that a consumer's typing
mistakes never use up, a honeypot, and the duplicates and reputation that services keep."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import RequestFactory
from django.utils import timezone

from complaints import abuse, services
from complaints.models import Case, CaseEvent, Evaluation, ReporterReputation
from tests.complaints.test_web import complaint_data, evaluation_data, png, track_path

pytestmark = pytest.mark.django_db

A = "198.51.100.7"
B = "203.0.113.9"


@pytest.fixture
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def file(client, scene, address=A, **overrides):
    return client.post("/complaints/new/", complaint_data(scene, **overrides), REMOTE_ADDR=address)


# --- The client's address ----------------------------------------------------------------------


def address_of(settings, proxies, **meta) -> str:
    settings.AXES_IPWARE_PROXY_COUNT = proxies
    return abuse.client_address(RequestFactory().get("/", **meta))


def test_without_trusted_proxies_forwarded_for_is_ignored(settings):
    assert address_of(settings, None, REMOTE_ADDR=A, HTTP_X_FORWARDED_FOR="1.2.3.4") == A


def test_behind_one_proxy_the_entry_it_added_counts_and_what_the_client_sent_does_not(settings):
    meta = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": f"1.2.3.4, {A}"}

    assert address_of(settings, 1, **meta) == A
    assert address_of(settings, 2, **meta) == "1.2.3.4"
    # Fewer entries than proxies: the header is not what the deployment promised; use the peer.
    assert address_of(settings, 3, **meta) == "10.0.0.2"


def test_ipv6_clients_are_counted_per_64_block(settings):
    first = address_of(settings, None, REMOTE_ADDR="2001:db8:1:2::1")
    second = address_of(settings, None, REMOTE_ADDR="2001:db8:1:2:ffff::9")
    elsewhere = address_of(settings, None, REMOTE_ADDR="2001:db8:1:3::1")

    assert first == second == "2001:db8:1:2::/64"
    assert elsewhere != first
    assert address_of(settings, None, REMOTE_ADDR="::ffff:198.51.100.7") == A


def test_the_cache_never_holds_the_address_itself(settings):
    request = RequestFactory().get("/", REMOTE_ADDR=A)

    assert A not in abuse.address_ident(request)


# --- Limits ------------------------------------------------------------------------------------


def test_a_limit_counts_per_window_and_gives_back_what_was_not_used():
    limit = abuse.Limit("test", 2, abuse.HOUR, "%(limit)s")

    first, second = limit.take("x"), limit.take("x")
    refused = limit.take("x")
    assert (first.allowed, second.allowed, refused.allowed) == (True, True, False)
    assert 0 < refused.retry_after <= abuse.HOUR
    assert limit.take("y").allowed  # another ident has its own count

    second.release()
    assert not limit.take("x").allowed  # the refused try counted; the window is full again


def test_a_new_window_starts_afresh():
    limit = abuse.Limit("test", 1, abuse.HOUR, "%(limit)s")
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        assert limit.take("x").allowed
        assert not limit.take("x").allowed
        traveller.shift(timedelta(hours=1))
        assert limit.take("x").allowed


def test_filings_per_address_are_limited_with_a_clear_429(english, public, settings):
    settings.COMPLAINT_FILINGS_PER_ADDRESS_HOUR = 2
    assert file(english, public, contact_email="a@example.com").status_code == 302
    assert file(english, public, contact_email="b@example.com").status_code == 302

    refused = file(english, public, contact_email="c@example.com")

    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 3600
    html = refused.content.decode()
    assert "at most 2 complaints and reports per hour from one network" in html
    assert "You can send again after" in html
    assert "ORD-2001" in html  # what was typed is kept to send later
    assert Case.objects.count() == 2
    # Another network is not affected.
    assert file(english, public, address=B, contact_email="c@example.com").status_code == 302


def test_the_throttled_page_is_in_chinese_by_default(client, public, settings):
    settings.COMPLAINT_FILINGS_PER_ADDRESS_HOUR = 1
    file(client, public)

    refused = file(client, public, contact_email="x@example.com")

    assert refused.status_code == 429
    assert '<html lang="zh-hans">' in refused.content.decode()


def test_after_the_hour_the_address_may_file_again(client, public, settings):
    settings.COMPLAINT_FILINGS_PER_ADDRESS_HOUR = 1
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        assert file(client, public, contact_email="a@example.com").status_code == 302
        assert file(client, public, contact_email="b@example.com").status_code == 429
        traveller.shift(timedelta(hours=1, seconds=1))
        assert file(client, public, contact_email="b@example.com").status_code == 302


def test_mistakes_do_not_use_up_the_filing_limit(client, public, settings):
    settings.COMPLAINT_FILINGS_PER_ADDRESS_HOUR = 1

    for _ in range(2):
        assert file(client, public, facts="").status_code == 200  # refused: no facts

    assert file(client, public).status_code == 302


def test_a_flood_of_invalid_submissions_is_still_bounded(client, public, settings):
    settings.COMPLAINT_ATTEMPTS_PER_ADDRESS_HOUR = 2
    file(client, public, facts="")
    file(client, public, facts="")

    assert file(client, public).status_code == 429
    assert Case.objects.count() == 0


def test_filings_per_contact_are_limited_across_addresses(english, public, settings):
    settings.COMPLAINT_FILINGS_PER_CONTACT_DAY = 1
    assert file(english, public, address=A, contact_phone="").status_code == 302

    refused = file(english, public, address=B, contact_phone="", order_number="ORD-9")

    assert refused.status_code == 429
    assert "from one e-mail address or phone" in refused.content.decode()
    assert Case.objects.count() == 1
    # The same number written another way is the same contact.
    first_by_phone = file(english, public, contact_email="", contact_phone="138 1234 0000")
    again_by_phone = file(english, public, contact_email="", contact_phone="+86 13812340000")
    assert (first_by_phone.status_code, again_by_phone.status_code) == (302, 429)


# What a Chinese input method types in full-width mode: the same characters, other code points.
FULL_WIDTH_PHONE = "１３８１２３４５６７８"  # 13812345678
FULL_WIDTH_EMAIL = "wang@ｅｘａｍｐｌｅ.ｃｏｍ"  # wang@example.com, which Django's validator takes


def test_a_contact_typed_in_full_width_is_the_same_contact(client, public, settings):
    settings.COMPLAINT_FILINGS_PER_CONTACT_DAY = 1
    assert file(client, public, contact_email="", contact_phone="13812345678").status_code == 302
    assert file(client, public, contact_email="", contact_phone="13812345678").status_code == 429
    refused = file(client, public, address=B, contact_email="", contact_phone=FULL_WIDTH_PHONE)

    assert refused.status_code == 429
    assert file(client, public, contact_email="wang@example.com").status_code == 302
    assert file(client, public, address=B, contact_email=FULL_WIDTH_EMAIL).status_code == 429
    assert Case.objects.count() == 2


def test_a_contact_refused_for_the_day_does_not_use_up_the_address(client, public, settings):
    settings.COMPLAINT_FILINGS_PER_CONTACT_DAY = 1
    settings.COMPLAINT_FILINGS_PER_ADDRESS_HOUR = 2
    file(client, public)
    assert file(client, public).status_code == 429

    assert file(client, public, contact_email="other@example.com").status_code == 302


# --- Honeypot ----------------------------------------------------------------------------------


def test_a_filled_honeypot_stores_nothing_and_says_only_to_try_again(english, public, tmp_path):
    data = {**complaint_data(public), abuse.HONEYPOT: "http://spam.example", "evidence": [png()]}

    response = english.post("/complaints/new/", data, REMOTE_ADDR=A)

    html = response.content.decode()
    assert response.status_code == 200
    assert "We could not accept this submission." in html
    assert "honeypot" not in html.lower().replace('name="homepage"', "")
    assert 'name="homepage" value=""' in html
    assert Case.objects.count() == 0
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_a_bots_honeypot_tries_count_against_the_address(client, public, settings):
    settings.COMPLAINT_FILINGS_PER_ADDRESS_HOUR = 1
    client.post("/complaints/new/", {**complaint_data(public), abuse.HONEYPOT: "x"}, REMOTE_ADDR=A)

    assert file(client, public).status_code == 429


def test_the_honeypot_is_hidden_from_people(client, public):
    html = client.get("/complaints/new/").content.decode()

    assert '<div class="hp" aria-hidden="true">' in html
    assert 'name="homepage" value="" tabindex="-1" autocomplete="off"' in html
    css = (settings.BASE_DIR / "config/static/site/site.css").read_text()
    assert ".hp { position: absolute; left: -10000px" in css


def test_the_evaluation_form_has_a_honeypot_too(client, public):
    response = client.post(
        "/evaluations/new/", {**evaluation_data(public), abuse.HONEYPOT: "x"}, REMOTE_ADDR=A
    )

    assert response.status_code == 200
    assert Evaluation.objects.count() == 0


# --- Searches, evaluations and tracking --------------------------------------------------------


def test_searches_are_limited_per_address(client, public, settings):
    settings.COMPLAINT_SEARCHES_PER_ADDRESS_HOUR = 1
    search = {"action": "search", "q": "西子"}
    assert client.post("/complaints/new/", search, REMOTE_ADDR=A).status_code == 200

    refused = client.post("/complaints/new/", search, REMOTE_ADDR=A)

    assert refused.status_code == 429
    assert f'name="merchant" value="{public.merchant.pk}"' not in refused.content.decode()


@pytest.mark.parametrize("path", ["/complaints/new/", "/reports/new/", "/evaluations/new/"])
def test_a_search_in_the_address_counts_against_the_same_limit(client, public, settings, path):
    settings.COMPLAINT_SEARCHES_PER_ADDRESS_HOUR = 1
    searched = client.get(path, {"q": "西子"}, REMOTE_ADDR=A)
    assert searched.status_code == 200
    assert public.merchant.name in searched.content.decode()

    refused = client.get(path, {"q": "西子"}, REMOTE_ADDR=A)

    assert refused.status_code == 429
    assert public.merchant.name not in refused.content.decode()  # no search ran
    assert client.get(path, REMOTE_ADDR=A).status_code == 200  # the blank form is never refused


def test_evaluations_are_limited_per_address_and_per_order(client, public, settings):
    settings.COMPLAINT_EVALUATIONS_PER_ADDRESS_HOUR = 2
    settings.COMPLAINT_EVALUATIONS_PER_ORDER_DAY = 1

    def evaluate(address, order):
        data = evaluation_data(public, order_number=order)
        return client.post("/evaluations/new/", data, REMOTE_ADDR=address)

    assert evaluate(A, "ORD-1").status_code == 302
    assert evaluate(B, " ord-1 ").status_code == 429  # the same order, written loosely
    assert evaluate(A, "ORD-2").status_code == 302
    assert evaluate(A, "ORD-3").status_code == 429  # the address's hour is full
    assert Evaluation.objects.count() == 2


def test_an_order_number_typed_in_full_width_is_the_same_order(client, public, settings):
    settings.COMPLAINT_EVALUATIONS_PER_ORDER_DAY = 1
    data = {
        "action": "submit",
        "merchant": public.merchant.pk,
        "stars_description": 1,
        "stars_service": 1,
        "stars_logistics": 1,
    }

    assert client.post("/evaluations/new/", {**data, "order_number": "ORD-1"}).status_code == 302
    assert client.post("/evaluations/new/", {**data, "order_number": "ord-1"}).status_code == 429
    full_width = {**data, "order_number": "ＯＲＤ－１"}
    refused = client.post("/evaluations/new/", full_width, REMOTE_ADDR=B)

    assert refused.status_code == 429
    assert Evaluation.objects.get().order_number == "ORD-1"


def test_updates_to_one_case_are_limited_and_the_refused_one_stores_nothing(
    client, public, settings
):
    settings.COMPLAINT_TRACKING_POSTS_PER_CASE_DAY = 1
    case = public.file()
    add = f"{track_path(case)}add/"
    assert client.post(add, {"text": "第一次补充"}, REMOTE_ADDR=A).status_code == 302

    refused = client.post(add, {"text": "第二次补充"}, REMOTE_ADDR=B)

    assert refused.status_code == 429
    assert refused["Cache-Control"] == "no-store, private"
    assert case.events.filter(kind=CaseEvent.Kind.INFO_ADDED).count() == 1


def test_an_invalid_update_does_not_use_up_the_limit(client, public, settings):
    settings.COMPLAINT_TRACKING_POSTS_PER_CASE_DAY = 1
    case = public.file()
    add = f"{track_path(case)}add/"

    assert client.post(add, {"text": ""}).status_code == 200  # nothing to add

    assert client.post(add, {"text": "补充"}).status_code == 302


def test_an_address_trying_many_links_is_stopped_for_a_while(client, public, settings):
    settings.COMPLAINT_TRACKING_MISSES_PER_ADDRESS_HOUR = 2
    case = public.file()
    for guess in ("0" * 32, "1" * 32):
        assert client.get(f"/track/{case.tracking_code}/{guess}/", REMOTE_ADDR=A).status_code == 404

    stopped = client.get(track_path(case), REMOTE_ADDR=A)
    elsewhere = client.get(track_path(case), REMOTE_ADDR=B)

    assert stopped.status_code == 429
    assert "status-box" not in stopped.content.decode()
    assert elsewhere.status_code == 200


def test_links_that_no_link_can_have_count_as_misses_too(client, public, settings):
    settings.COMPLAINT_TRACKING_MISSES_PER_ADDRESS_HOUR = 2
    case = public.file()
    code, token = case.tracking_code, services.tracking_token(case)
    for wrong in (f"/track/{code}/{'é' * 32}/", f"/track/{code}%00/{token}/"):
        assert client.get(wrong, REMOTE_ADDR=A).status_code == 404

    stopped = client.get(track_path(case), REMOTE_ADDR=A)

    assert stopped.status_code == 429
    assert client.get(track_path(case), REMOTE_ADDR=B).status_code == 200


# --- Duplicates and reputation, as the web form sees them ---------------------------------------


def test_a_second_complaint_about_the_same_order_is_filed_and_marked_as_a_possible_duplicate(
    client, public
):
    file(client, public)
    file(client, public, address=B, facts="又补充了一些情况。")

    first, second = Case.objects.order_by("pk")
    assert second.possible_duplicate_of == first
    assert first.possible_duplicate_of is None


def test_each_web_filing_counts_towards_the_reporters_reputation(client, public):
    file(client, public)
    file(client, public, order_number="ORD-2")

    key = services.contact_key(email="wang@example.com")
    assert ReporterReputation.objects.get(contact_key=key).filed == 2


def test_a_complaint_typed_in_full_width_is_a_possible_duplicate_and_the_same_reporter(
    client, public
):
    file(client, public, contact_email="", order_number="ORD-7")
    file(
        client,
        public,
        address=B,
        contact_email="",
        contact_phone=FULL_WIDTH_PHONE,
        order_number="ＯＲＤ－７",
        category="quality",  # only the order makes it the same complaint
    )

    first, second = Case.objects.order_by("pk")
    assert second.possible_duplicate_of == first
    assert (second.order_number, services.contact_phone(second)) == ("ORD-7", "13812345678")
    key = services.contact_key(phone="13812345678")
    assert first.contact_key == second.contact_key == key
    assert ReporterReputation.objects.get(contact_key=key).filed == 2


# --- One submission per form page ---------------------------------------------------------------


def test_each_form_page_carries_a_fresh_token(client, public):
    first = client.get("/complaints/new/")
    second = client.get("/complaints/new/")
    tokens = [page.context["form"].initial[abuse.SUBMISSION] for page in (first, second)]
    assert tokens[0] != tokens[1]
    assert all(len(token) == 22 for token in tokens)
    assert f'<input type="hidden" name="submission" value="{tokens[0]}">' in first.content.decode()


def test_a_form_sent_twice_files_once_and_shows_the_first_case(english, public, settings):
    settings.COMPLAINT_FILINGS_PER_ADDRESS_HOUR = 2
    token = english.get("/complaints/new/").context["form"].initial[abuse.SUBMISSION]
    first = file(english, public, submission=token)
    again = file(english, public, submission=token)

    assert first.status_code == again.status_code == 302
    assert Case.objects.count() == 1
    case = Case.objects.get()
    shown = english.get(again["Location"])
    assert case.tracking_code in shown.content.decode()
    assert "This form had already been sent" in shown.content.decode()
    # The second POST gave its filing of the address back: a new complaint is the second.
    fresh = english.get("/complaints/new/").context["form"].initial[abuse.SUBMISSION]
    assert file(english, public, submission=fresh, order_number="ORD-9").status_code == 302
    assert Case.objects.count() == 2


def test_a_form_sent_again_after_a_refusal_is_filed(english, public):
    token = english.get("/complaints/new/").context["form"].initial[abuse.SUBMISSION]
    refused = file(english, public, submission=token, facts="")
    assert refused.status_code == 200  # the form again, with its error
    assert refused.context["form"]["submission"].value() == token  # the same page, same token
    assert file(english, public, submission=token).status_code == 302
    assert Case.objects.count() == 1


def test_a_second_post_while_the_first_is_still_filing_files_nothing(english, public, monkeypatch):
    monkeypatch.setattr(abuse, "SUBMISSION_WAIT", 0.3)
    token = english.get("/complaints/new/").context["form"].initial[abuse.SUBMISSION]
    # The first POST has claimed the token and not finished.
    assert abuse.Submission.claim({abuse.SUBMISSION: token}).first
    second = file(english, public, submission=token)
    assert second.status_code == 200
    assert "still being filed" in second.content.decode()
    assert Case.objects.count() == 0


def test_a_post_without_a_token_or_with_a_forged_one_files_as_before(english, public):
    assert file(english, public).status_code == 302
    assert file(english, public, submission="x" * 5000, order_number="ORD-8").status_code == 302
    assert Case.objects.count() == 2


def test_an_evaluation_sent_twice_is_stored_once(client, public):
    token = client.get("/evaluations/new/").context["form"].initial[abuse.SUBMISSION]
    data = evaluation_data(public, submission=token)
    responses = [client.post("/evaluations/new/", data, REMOTE_ADDR=A) for _ in range(2)]
    assert [r.status_code for r in responses] == [302, 302]
    assert Evaluation.objects.count() == 1
