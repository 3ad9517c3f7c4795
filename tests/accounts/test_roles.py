"""The permission matrix: what each role may see and do, in the database and in the admin."""

import pytest
from django.contrib.auth.models import Group
from django_otp import DEVICE_ID_SESSION_KEY

from accounts import roles
from tests.factories import UserFactory, totp_device

FILES_READ = {
    "accounts.view_registrationfile",
    "accounts.view_filedocument",
    "accounts.view_fileevent",
    "accounts.view_fileversion",
    "merchants.view_merchantprofile",
    "merchants.view_licence",
    "anchors.view_anchorprofile",
    "anchors.view_guardianconsent",
    "anchors.view_qualification",
    "anchors.view_trainingrecord",
    "anchors.view_agencymembership",
    "anchors.view_agencymerchant",
    "credit.view_sanctionentry",
    "credit.view_ruleset",
    "credit.view_creditevent",
    "credit.view_creditscore",
    "credit.view_scorechange",
    "credit.view_feedentry",
    "credit.view_peer",
    "credit.view_peerrecord",
    "credit.view_dispute",
    "credit.view_job",
}
PATROL = {
    "liverooms.view_liveroom",
    "liverooms.view_roomevent",
    "liverooms.view_livesession",
    "liverooms.view_sessionanchor",
    "liverooms.view_sessionproduct",
    "liverooms.view_goliverefusal",
    "liverooms.view_monitoringrule",
    "liverooms.view_alert",
    "liverooms.change_alert",
    "liverooms.view_inspection",
    "liverooms.add_inspection",
    "merchants.view_product",
}
COMPLAINTS = {
    "complaints.view_case",
    "complaints.change_case",
    "complaints.view_caseevent",
    "complaints.view_evidence",
    "complaints.view_replytemplate",
    "complaints.view_evaluation",
    "complaints.hide_evaluation",
    "complaints.ask_order_check",
    "complaints.view_reviewercapacity",
    "liverooms.view_livesession",
}
ENFORCEMENT = {
    "enforcement.view_violationtype",
    "enforcement.view_violation",
    "enforcement.add_violation",
    "enforcement.change_violation",
    "enforcement.view_evidence",
    "enforcement.add_evidence",
    "enforcement.view_violationevent",
    "enforcement.view_measure",
    "enforcement.add_measure",
    "enforcement.view_measureevent",
    "enforcement.view_appeal",
    "enforcement.view_depositaccount",
    "enforcement.view_ledgerentry",
    "enforcement.view_depositrequirement",
    "enforcement.view_authority",
    "enforcement.view_referral",
}
REVIEWER = {
    *PATROL,
    *COMPLAINTS,
    *ENFORCEMENT,
    "accounts.view_party",
    "accounts.view_partyevent",
    "accounts.view_restriction",
    "accounts.review_registrationfile",
    "accounts.view_calendaryear",
    "accounts.view_calendarday",
    *FILES_READ,
}
LEAD = REVIEWER | {
    "accounts.reveal_identity",
    "accounts.export_identity_report",
    "accounts.view_webhookendpoint",
    "accounts.view_webhookdelivery",
    "accounts.change_webhookdelivery",
    "accounts.add_calendaryear",
    "accounts.change_calendaryear",
    "accounts.add_calendarday",
    "accounts.change_calendarday",
    "accounts.delete_calendarday",
    "complaints.add_replytemplate",
    "complaints.change_replytemplate",
    "complaints.add_reviewercapacity",
    "complaints.change_reviewercapacity",
    "complaints.view_reporterreputation",
    "complaints.change_reporterreputation",
    "credit.add_sanctionentry",
    "credit.add_ruleset",
    "credit.change_ruleset",
    "credit.publish_ruleset",
    "credit.add_job",
    "credit.add_peer",
    "credit.change_peer",
    "credit.change_dispute",
    "liverooms.add_monitoringrule",
    "liverooms.change_monitoringrule",
    # Four eyes, appeals, the catalogue, the ledger and the outbox.
    "enforcement.add_violationtype",
    "enforcement.change_violationtype",
    "enforcement.change_measure",
    "enforcement.approve_measure",
    "enforcement.execute_measure",
    "enforcement.export_sanctions",
    "enforcement.change_appeal",
    "enforcement.decide_appeal",
    "enforcement.record_deposit",
    "enforcement.add_depositrequirement",
    "enforcement.change_depositrequirement",
    "enforcement.view_reconciliation",
    "enforcement.view_notification",
    "enforcement.add_authority",
    "enforcement.change_authority",
    "enforcement.change_referral",
    "enforcement.retry_referral",
}
EXPECTED = {
    "consumer": set(),
    "merchant_staff": set(),
    "anchor": set(),
    "agency_staff": set(),
    "compliance_reviewer": REVIEWER,
    "compliance_lead": LEAD,
    # Reads referrals only (issue 6).
    "authority_liaison": {"enforcement.view_referral", "enforcement.view_authority"},
}


def group_perms(slug):
    group = Group.objects.get(name=slug)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}


@pytest.mark.django_db
@pytest.mark.parametrize("slug", sorted(EXPECTED))
def test_migrate_creates_each_role_with_exactly_its_declared_permissions(slug):
    assert group_perms(slug) == EXPECTED[slug]


@pytest.mark.django_db
def test_sync_removes_a_permission_granted_by_hand():
    group = Group.objects.get(name="compliance_reviewer")
    from django.contrib.auth.models import Permission

    group.permissions.add(Permission.objects.get(codename="view_apikey"))
    roles.sync_roles()
    assert group_perms("compliance_reviewer") == REVIEWER


@pytest.mark.django_db
def test_auditor_reads_every_product_record_and_changes_nothing():
    from django.contrib.auth.models import Permission

    every_view = {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Permission.objects.filter(
            content_type__app_label__in=roles.settings.PRODUCT_APPS, codename__startswith="view_"
        )
    }
    perms = group_perms("auditor")
    assert perms == every_view | {"admin.view_logentry"}
    assert {"accounts.view_registrationfile", "credit.view_sanctionentry"} <= perms
    assert not {"accounts.reveal_identity", "accounts.review_registrationfile"} & perms


@pytest.mark.django_db
def test_staff_roles_make_a_user_staff_and_public_roles_do_not():
    reviewer = UserFactory(roles=["compliance_reviewer"])
    consumer = UserFactory(roles=["consumer"])
    assert reviewer.is_staff
    assert not consumer.is_staff


def verified_client(client, user):
    """A client signed in with password and a verified TOTP device, as the admin requires."""
    device = totp_device(user)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


# role -> admin path -> expected status
ADMIN_MATRIX = {
    "compliance_reviewer": {
        "/admin/": 200,
        "/admin/accounts/party/": 200,
        "/admin/accounts/restriction/": 200,
        "/admin/accounts/apikey/": 403,
        "/admin/accounts/webhookdelivery/": 403,
        "/admin/accounts/user/": 403,
        "/admin/admin/logentry/": 403,
        "/admin/enforcement/notification/": 403,
    },
    "compliance_lead": {
        "/admin/": 200,
        "/admin/accounts/party/": 200,
        "/admin/accounts/apikey/": 403,
        "/admin/accounts/webhookdelivery/": 200,
        "/admin/accounts/user/": 403,
        "/admin/admin/logentry/": 403,
        "/admin/enforcement/notification/": 200,
    },
    "auditor": {
        "/admin/": 200,
        "/admin/accounts/party/": 200,
        "/admin/accounts/apikey/": 200,
        "/admin/accounts/webhookdelivery/": 200,
        "/admin/accounts/user/": 200,
        "/admin/admin/logentry/": 200,
        "/admin/enforcement/notification/": 200,
    },
    "authority_liaison": {
        "/admin/": 200,
        "/admin/accounts/party/": 403,
        "/admin/accounts/restriction/": 403,
        "/admin/admin/logentry/": 403,
        "/admin/enforcement/notification/": 403,
    },
}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("slug", "path", "status"),
    [
        (slug, path, status)
        for slug, paths in ADMIN_MATRIX.items()
        for path, status in paths.items()
    ],
)
def test_admin_access_follows_the_role(client, slug, path, status):
    user = UserFactory(roles=[slug])
    response = verified_client(client, user).get(path)
    assert response.status_code == status


@pytest.mark.django_db
@pytest.mark.parametrize("slug", ["consumer", "merchant_staff", "anchor", "agency_staff"])
def test_public_roles_cannot_enter_the_admin(client, slug):
    user = UserFactory(roles=[slug])
    response = verified_client(client, user).get("/admin/accounts/party/")
    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")


@pytest.mark.django_db
def test_auditor_cannot_change_a_party_even_by_posting(client):
    from tests.factories import register_party

    party = register_party(name="原名")
    auditor = verified_client(client, UserFactory(roles=["auditor"]))
    response = auditor.post(f"/admin/accounts/party/{party.pk}/change/", {"name": "改名"})
    assert response.status_code == 403
    party.refresh_from_db()
    assert party.name == "原名"


@pytest.mark.django_db
def test_index_shows_queues_first_and_only_those_the_role_may_see(client):
    reviewer = verified_client(client, UserFactory(roles=["compliance_reviewer"]))
    response = reviewer.get("/admin/")
    file_queues = [
        "files_awaiting",
        "files_mine",
        "files_change_overdue",
        "files_reverification",
    ]
    patrol_queues = ["patrol_overdue", "patrol", "alerts_open"]
    case_queues = [
        "cases_overdue",
        "cases_due_today",
        "cases_new",
        "cases_mine",
        "cases_awaiting_consumer",
        "cases_notice_undelivered",
    ]
    assert [q["key"] for q in response.context["queues"]] == [
        *file_queues,
        *patrol_queues,
        *case_queues,
        "evaluations_order_pending",
        "violations_suspected",
        "restrictions_in_force",
    ]
    content = response.content.decode()
    assert content.index('id="work-queues"') < content.index('class="app-accounts')

    client.logout()
    lead = verified_client(client, UserFactory(roles=["compliance_lead"]))
    keys = [q["key"] for q in lead.get("/admin/").context["queues"]]
    assert keys == [
        *file_queues,
        *patrol_queues,
        *case_queues,
        "reporters_flagged",
        "evaluations_order_pending",
        "violations_suspected",
        # Four eyes, corrections, appeals, the referral outbox and the ledger are the leads'.
        "measures_awaiting_approval",
        "notices_overdue",
        "appeals_pending",
        "referrals_failed",
        "ledger_differences",
        # Disputes of shared records are decided by leads (credit).
        "disputes_open",
        "restrictions_in_force",
        "webhooks_failed",
    ]

    client.logout()
    liaison = verified_client(client, UserFactory(roles=["authority_liaison"]))
    assert liaison.get("/admin/").context["queues"] == []


@pytest.mark.django_db
def test_revoking_a_key_in_the_admin_is_logged_for_auditors(client):
    from django.contrib.admin.models import LogEntry

    from accounts.models import ApiKey
    from accounts.services import api_key_create
    from tests.factories import TEST_ACTOR

    key, _raw = api_key_create(name="leaked", scopes=["parties:read"], actor=TEST_ACTOR)
    admin_user = UserFactory(is_superuser=True, is_staff=True)
    response = verified_client(client, admin_user).post(
        "/admin/accounts/apikey/",
        {"action": "revoke", "_selected_action": [key.pk]},
    )
    assert response.status_code == 302
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None
    entry = LogEntry.objects.get(object_id=str(key.pk))
    assert entry.user == admin_user
    assert "Revoked" in entry.get_change_message()
