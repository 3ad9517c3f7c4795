"""A complaint's whole journey in a real browser: a consumer files it with a photo on a phone-sized
screen, reads its tracking page through the private link from the e-mail, a reviewer signs in to
the admin with password and TOTP and resolves it, and the consumer confirms the resolution."""

import re

import pytest
from django.core import mail
from django.utils import timezone
from django_otp.oath import totp
from PIL import Image
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from accounts.models import Party, PartyKind
from complaints.models import Case, CaseStatus, Evidence, Outcome, ReviewerCapacity
from tests.factories import UserFactory, register_party, totp_device

# Serialized, as every other transactional test here: a flush without it runs post_migrate,
# which makes the roles' groups again under new ids, and the next serialized test's restore of
# the migrated data then collides with them (a UNIQUE constraint on the group's name).
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PASSWORD = "correct-horse-battery"


@pytest.fixture
def merchant(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    party = register_party(PartyKind.MERCHANT, name="西子良品旗舰店")
    # Only approved parties are offered by the public search; the approval workflow itself is
    # tested in tests/accounts.
    Party.objects.filter(pk=party.pk).update(approved_at=timezone.now())
    return party


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "scarf.jpg"
    Image.new("RGB", (640, 480), (180, 40, 60)).save(path, "JPEG")
    return path


def _fill(browser, name, value):
    field = browser.find_element(By.NAME, name)
    field.clear()
    field.send_keys(value)


def _choose(browser, name, value):
    """A choice, whether the form shows it as a drop-down or as radio buttons."""
    field = browser.find_element(By.NAME, name)
    if field.tag_name == "select":
        Select(field).select_by_value(value)
    else:
        browser.find_element(By.CSS_SELECTOR, f"input[name={name}][value={value}]").click()


def _open_action(browser, slug):
    """Unfold an action on the admin case page (the first ones start unfolded)."""
    details = browser.find_element(By.ID, f"action-{slug}")
    if details.get_attribute("open") is None:
        details.find_element(By.TAG_NAME, "summary").click()


def _submit(browser, css):
    """Click a submit button and wait until the browser has loaded the answer (the click returns
    as soon as the event is dispatched, before the POST has been answered)."""
    browser.execute_script("window.beforeSubmit = true;")
    browser.find_element(By.CSS_SELECTOR, css).click()

    def answered(driver) -> bool:
        try:  # a new document has no marker; while it loads, the driver may refuse the script
            return driver.execute_script(
                "return !window.beforeSubmit && document.readyState === 'complete';"
            )
        except WebDriverException:
            return False

    WebDriverWait(browser, 15).until(answered)


def test_file_track_and_resolve_a_complaint(live_server, browser, merchant, photo, tmp_path):
    reviewer = UserFactory(username="reviewer-b", roles=["compliance_reviewer"])
    ReviewerCapacity.objects.create(user=reviewer, max_open_cases=10)
    device = totp_device(reviewer)

    # 1. The consumer finds the merchant by name (no JavaScript needed) and files with a photo.
    browser.get(live_server.url + "/complaints/new/")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-hans"
    _fill(browser, "q", "西子")
    _submit(browser, "button[name=action][value=search]")
    browser.find_element(By.CSS_SELECTOR, f"input[type=radio][value='{merchant.pk}']").click()
    _fill(browser, "order_number", "DY20261129001")
    _fill(browser, "purchase", "真丝围巾")
    _choose(browser, "category", "false_advertising")
    _fill(browser, "facts", "主播说是100%桑蚕丝，收到后吊牌写的是聚酯纤维。")
    _choose(browser, "request", "refund")
    _fill(browser, "contact_name", "王女士")
    _fill(browser, "contact_email", "wang@example.com")
    browser.find_element(By.NAME, "evidence").send_keys(str(photo))
    browser.save_screenshot(str(tmp_path / "1-form.png"))
    _submit(browser, "button[name=action][value=submit]")

    case = Case.objects.get()
    assert case.merchant_id == merchant.pk
    assert case.assignee == reviewer  # round robin
    assert Evidence.objects.filter(case=case).count() == 1
    page = browser.find_element(By.TAG_NAME, "main").text
    assert case.tracking_code in page
    browser.save_screenshot(str(tmp_path / "2-filed.png"))

    # 2. The e-mail carries the private link; it opens the tracking page with the timeline.
    [message] = [m for m in mail.outbox if case.tracking_code in m.subject]
    link = re.search(r"https?://\S+/track/\S+/", message.body).group(0)
    browser.get(live_server.url + link[link.index("/track/") :])
    page = browser.find_element(By.TAG_NAME, "main").text
    assert case.tracking_code in page
    assert f"{case.acceptance_due:%Y}" in page
    assert browser.find_elements(By.CSS_SELECTOR, "img")  # the photo, through the private link
    tracking_url = browser.current_url
    # A guessed token gets the same "not found" as an unknown code.
    browser.get(tracking_url.rstrip("/")[:-4] + "0000/")
    assert case.tracking_code not in browser.find_element(By.TAG_NAME, "main").text

    # 3. The reviewer signs in with password and TOTP and resolves it from the case page.
    browser.get(live_server.url + "/admin/login/")
    _fill(browser, "username", reviewer.username)
    _fill(browser, "password", PASSWORD)
    _fill(browser, "otp_token", totp(device.bin_key))
    _submit(browser, "input[type=submit]")
    browser.get(f"{live_server.url}/admin/complaints/case/{case.pk}/change/")
    assert case.tracking_code in browser.find_element(By.ID, "content").text

    _open_action(browser, "accept")
    _submit(browser, "#action-accept input[type=submit]")
    case.refresh_from_db()
    assert case.status == CaseStatus.ACCEPTED

    _open_action(browser, "decide")
    Select(browser.find_element(By.CSS_SELECTOR, "#action-decide [name=outcome]")).select_by_value(
        Outcome.REFUND
    )
    note = browser.find_element(By.CSS_SELECTOR, "#action-decide [name=note]")
    note.send_keys("商家已确认虚假宣传，全额退款 99 元。")
    browser.find_element(By.CSS_SELECTOR, "#action-decide [name=refund_yuan]").send_keys("99")
    browser.save_screenshot(str(tmp_path / "3-decide.png"))
    _submit(browser, "#action-decide input[type=submit]")
    case.refresh_from_db()
    assert case.status == CaseStatus.DECIDED
    assert case.outcome == Outcome.REFUND
    assert case.refund_fen == 9900

    # 4. The consumer sees the outcome and confirms the resolution.
    browser.get(tracking_url)
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "商家已确认虚假宣传" in page
    _submit(browser, "form[action$='/confirm/'] button")
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
    browser.save_screenshot(str(tmp_path / "4-closed.png"))


def test_a_file_that_is_not_an_image_is_refused_by_name_and_nothing_is_filed(
    live_server, browser, merchant, tmp_path
):
    fake = tmp_path / "evidence.jpg"
    fake.write_bytes(b"%PDF-1.7 not a picture")
    browser.get(live_server.url + "/complaints/new/")
    _fill(browser, "q", "西子")
    _submit(browser, "button[name=action][value=search]")
    browser.find_element(By.CSS_SELECTOR, f"input[type=radio][value='{merchant.pk}']").click()
    _fill(browser, "facts", "描述")
    _fill(browser, "contact_email", "li@example.com")
    _choose(browser, "request", "refund")
    browser.find_element(By.NAME, "evidence").send_keys(str(fake))
    _submit(browser, "button[name=action][value=submit]")
    errors = browser.find_element(By.CSS_SELECTOR, ".error-summary, [role=alert]").text
    assert "evidence.jpg" in errors
    assert Case.objects.count() == 0
