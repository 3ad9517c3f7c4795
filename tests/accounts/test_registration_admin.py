"""The registration workbench in the admin: decisions, documents, reveals, the report, imports."""

import io
from datetime import date

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from openpyxl import load_workbook
from PIL import Image

from accounts import registration
from accounts.actors import Actor
from accounts.demo import demo_image, make_credit_code, make_resident_id
from accounts.models import FileEvent, FileStatus, PartyKind, RegistrationFile
from anchors.services import anchor_file_create
from credit.models import SanctionEntry
from merchants.services import LicenceData, business_file_create
from tests.accounts.test_roles import verified_client
from tests.factories import TEST_ACTOR, UserFactory

pytestmark = pytest.mark.django_db
_serial = iter(range(1, 10_000))


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def merchant_file(**overrides):
    n = next(_serial)
    values = {
        "kind": PartyKind.MERCHANT,
        "entity_type": "enterprise",
        "name": f"测试商贸有限公司{n}",
        "credit_code": make_credit_code("330106", 40_000_000 + n),
        "representative": "张三",
        "address": "杭州市",
        "contact_phone": "13812345678",
        "categories": ["general"],
        "licences": [LicenceData("business", f"B{n}", "市场监督管理局", date(2020, 1, 1))],
        "actor": TEST_ACTOR,
    }
    values.update(overrides)
    return business_file_create(**values)


def submitted_file():
    file = merchant_file()
    registration.document_add(
        file=file, kind="business_licence", upload=demo_image("licence"), actor=TEST_ACTOR
    )
    assert registration.file_submit(file=file, actor=TEST_ACTOR).accepted
    file.refresh_from_db()
    return file


def anchor_file():
    n = next(_serial)
    return anchor_file_create(
        name="王五",
        id_number=make_resident_id("330106", date(1995, 5, 5), n % 500, female=False),
        address="杭州",
        contact_phone="13812345678",
        actor=TEST_ACTOR,
    )


@pytest.fixture
def reviewer(client):
    user = UserFactory(roles=["compliance_reviewer"])
    return user, verified_client(client, user)


@pytest.fixture
def lead(client):
    user = UserFactory(roles=["compliance_lead"])
    return user, verified_client(client, user)


def decide_url(file):
    return f"/admin/accounts/registrationfile/{file.pk}/decide/"


def test_a_reviewer_approves_through_the_decision_page(reviewer):
    user, client = reviewer
    file = submitted_file()
    page = client.get(decide_url(file))
    assert page.status_code == 200
    response = client.post(decide_url(file), {"decision": "approve", "text": "核验通过"})
    assert response.status_code == 302
    file.refresh_from_db()
    assert file.status == FileStatus.APPROVED
    assert file.sealed_version is not None
    assert file.events.get(kind="approved").actor_user == user


def test_reject_without_reasons_is_refused_on_the_page_and_changes_nothing(reviewer):
    _user, client = reviewer
    file = submitted_file()
    response = client.post(decide_url(file), {"decision": "reject", "text": ""})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    file.refresh_from_db()
    assert file.status == FileStatus.SUBMITTED


def test_request_changes_per_document(reviewer):
    _user, client = reviewer
    file = submitted_file()
    document = file.documents.get()
    response = client.post(
        decide_url(file),
        {
            "decision": "request_changes",
            f"doc_{document.pk}_reason": "expired",
            f"doc_{document.pk}_note": "执照已过期",
        },
    )
    assert response.status_code == 302
    document.refresh_from_db()
    assert (document.review, document.change_reason, document.change_note) == (
        "changes_requested",
        "expired",
        "执照已过期",
    )


def test_an_auditor_cannot_decide(client):
    auditor = verified_client(client, UserFactory(roles=["auditor"]))
    file = submitted_file()
    response = auditor.post(decide_url(file), {"decision": "approve"})
    assert response.status_code == 403
    file.refresh_from_db()
    assert file.status == FileStatus.SUBMITTED


def test_approval_stopped_by_a_blacklisting_since_submission_shows_why(reviewer):
    from accounts.models import RestrictionKind
    from accounts.services import restriction_impose

    _user, client = reviewer
    file = submitted_file()
    restriction_impose(
        party=file.party, kind=RestrictionKind.BLACKLIST, reason="x", actor=TEST_ACTOR
    )
    response = client.post(decide_url(file), {"decision": "approve"})
    assert response.status_code == 200
    assert "blacklisted" in str(response.context["form"].non_field_errors())
    file.refresh_from_db()
    assert file.status == FileStatus.SUBMITTED


def test_documents_are_served_only_through_the_permission_checked_view(reviewer, client):
    _user, reviewer_client = reviewer
    file = submitted_file()
    document = file.documents.get()
    url = f"/admin/accounts/registrationfile/document/{document.pk}/"
    response = reviewer_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert "no-store" in response["Cache-Control"]
    Image.open(io.BytesIO(b"".join(response.streaming_content))).verify()

    reviewer_client.logout()
    liaison = verified_client(reviewer_client, UserFactory(roles=["authority_liaison"]))
    assert liaison.get(url).status_code == 403
    liaison.logout()
    assert liaison.get(url).status_code == 302  # to the login
    # And never under MEDIA_URL or any other public path.
    assert document.storage_name.startswith("private/")
    assert client.get(f"/media/{document.storage_name}").status_code == 404


def test_reveal_needs_the_permission_and_a_reason_and_is_recorded(reviewer, client):
    _user, reviewer_client = reviewer
    file = anchor_file()
    url = f"/admin/accounts/registrationfile/{file.pk}/reveal/"
    assert reviewer_client.post(url, {"reason": "核对"}).status_code == 403
    reviewer_client.logout()

    lead_user = UserFactory(roles=["compliance_lead"])
    lead_client = verified_client(client, lead_user)
    change_page = lead_client.get(f"/admin/accounts/registrationfile/{file.pk}/change/")
    full = registration.file_id_number(file)
    assert full not in change_page.content.decode()
    assert file.id_number_masked in change_page.content.decode()
    assert full not in lead_client.post(url, {"reason": ""}).content.decode()
    response = lead_client.post(url, {"reason": "核对身份证件"})
    assert full in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    event = file.events.get(kind=FileEvent.Kind.IDENTITY_REVEALED)
    assert (event.actor_user, event.reason) == (lead_user, "核对身份证件")


def test_search_by_a_full_id_number_finds_the_file_through_the_keyed_hash(reviewer):
    _user, client = reviewer
    file = anchor_file()
    other = anchor_file()
    number = registration.file_id_number(file)
    response = client.get("/admin/accounts/registrationfile/", {"q": number})
    shown = list(response.context["cl"].result_list)
    assert shown == [file]
    assert other not in shown
    by_masked = client.get("/admin/accounts/registrationfile/", {"q": file.id_number_masked})
    assert file in list(by_masked.context["cl"].result_list)


def test_queues_filter_the_changelist(reviewer):
    user, client = reviewer
    waiting = submitted_file()
    mine = submitted_file()
    registration.file_take(file=mine, actor=Actor.for_user(user))
    awaiting = client.get("/admin/accounts/registrationfile/", {"queue": "awaiting"})
    assert list(awaiting.context["cl"].result_list) == [waiting]
    own = client.get("/admin/accounts/registrationfile/", {"queue": "mine"})
    assert list(own.context["cl"].result_list) == [mine]


def test_take_for_review_action_assigns_the_files(reviewer):
    user, client = reviewer
    file = submitted_file()
    response = client.post(
        "/admin/accounts/registrationfile/",
        {"action": "take_for_review", "_selected_action": [file.pk]},
    )
    assert response.status_code == 302
    file.refresh_from_db()
    assert (file.status, file.assigned_to) == (FileStatus.IN_REVIEW, user)


def approved_anchor():
    file = anchor_file()
    registration.file_submit(file=file, actor=TEST_ACTOR)
    registration.file_approve(
        file=file, actor=Actor.for_user(UserFactory(roles=["compliance_reviewer"]))
    )
    return file


def test_identity_report_export_for_leads_only_with_full_numbers_and_logged(lead, time_machine):
    time_machine.move_to("2026-11-23 10:00 +08:00", tick=False)
    user, client = lead
    file = approved_anchor()
    number = registration.file_id_number(file)
    response = client.get(
        "/admin/accounts/registrationfile/identity-report/", {"period": "2026H2", "format": "xlsx"}
    )
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert any(number in row for row in values[1:])
    assert LogEntry.objects.filter(user=user, object_repr__startswith="identity report").exists()
    csv = client.get(
        "/admin/accounts/registrationfile/identity-report/", {"period": "2026H2", "format": "csv"}
    )
    assert number in csv.content.decode("utf-8-sig")

    client.logout()
    reviewer_client = verified_client(client, UserFactory(roles=["compliance_reviewer"]))
    assert (
        reviewer_client.get("/admin/accounts/registrationfile/identity-report/").status_code == 403
    )


def test_identity_report_command_writes_the_period(tmp_path, time_machine):
    time_machine.move_to("2026-11-23 10:00 +08:00", tick=False)
    file = approved_anchor()
    output = tmp_path / "report.csv"
    call_command("identity_report", "--period", "2026H2", "--format", "csv", "--output", output)
    text = output.read_text(encoding="utf-8-sig")
    assert registration.file_id_number(file) in text
    call_command("identity_report", "--period", "2026H1", "--format", "csv", "--output", output)
    assert registration.file_id_number(file) not in output.read_text(encoding="utf-8-sig")


def csv_upload(text):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("list.csv", text.encode(), content_type="text/csv")


def test_a_lead_imports_a_sanctions_list_and_identifiers_are_not_stored(lead):
    _user, client = lead
    number = make_resident_id("440106", date(1990, 1, 1), 7, female=True)
    content = (
        "kind,name,identifier,authority,reference,decided_on,ends_on\n"
        f"false_ad_endorsement,何某,{number},天河区市场监管局,穗天〔2025〕1号,2025-01-01,\n"
    )
    response = client.post("/admin/credit/sanctionentry/import/", {"file": csv_upload(content)})
    assert response.status_code == 302
    entry = SanctionEntry.objects.get()
    assert number not in str(SanctionEntry.objects.values().get())
    assert entry.identifier_masked == "4401**********" + number[-4:]


def test_a_sanctions_file_with_one_bad_line_imports_nothing(lead):
    _user, client = lead
    good = make_resident_id("440106", date(1990, 1, 1), 8, female=True)
    content = (
        "kind,name,identifier,authority,reference,decided_on,ends_on\n"
        f"false_ad_endorsement,甲,{good},局,1号,2025-01-01,\n"
        "false_ad_endorsement,乙,11010519491231002Y,局,2号,2025-01-01,\n"
    )
    response = client.post("/admin/credit/sanctionentry/import/", {"file": csv_upload(content)})
    assert response.status_code == 200
    assert "Line 3" in response.content.decode() or "第 3" in response.content.decode()
    assert not SanctionEntry.objects.exists()


def test_a_reviewer_cannot_import_sanctions(reviewer):
    _user, client = reviewer
    assert client.get("/admin/credit/sanctionentry/import/").status_code == 403


def test_demo_data_has_files_in_every_state(settings, tmp_path):
    call_command("seed_demo", stdout=io.StringIO())
    present = set(RegistrationFile.objects.values_list("status", flat=True))
    assert present == set(FileStatus.values)


def test_rejection_reasons_are_shown_in_the_viewers_language():
    from django.utils import translation

    with translation.override("en"):
        english = str(registration.RejectReason.CHOICES["forged_document"])
    with translation.override("zh-hans"):
        chinese = str(registration.RejectReason.CHOICES["forged_document"])
    assert english == "A document appears forged or altered"
    assert chinese != english


def test_the_awaiting_queue_shows_the_oldest_submission_first(reviewer, time_machine):
    _user, client = reviewer
    time_machine.move_to("2026-11-20 09:00 +08:00", tick=False)
    older = submitted_file()
    time_machine.move_to("2026-11-21 09:00 +08:00", tick=False)
    newer = submitted_file()
    time_machine.move_to("2026-11-23 09:00 +08:00", tick=False)
    response = client.get("/admin/accounts/registrationfile/", {"queue": "awaiting"})
    assert list(response.context["cl"].result_list) == [older, newer]


def test_a_search_by_id_number_stays_inside_the_chosen_queue(reviewer):
    _user, client = reviewer
    file = anchor_file()  # a draft, not awaiting review
    number = registration.file_id_number(file)
    response = client.get("/admin/accounts/registrationfile/", {"q": number, "queue": "awaiting"})
    assert list(response.context["cl"].result_list) == []
    everywhere = client.get("/admin/accounts/registrationfile/", {"q": number})
    assert list(everywhere.context["cl"].result_list) == [file]
