"""Staff must pass TOTP to use the admin; repeated failures lock the account from that address."""

import pytest
from django.test import override_settings
from django_otp.oath import totp

from tests.factories import UserFactory, totp_device

PASSWORD = "correct-horse-battery"


def current_code(device):
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def login(client, username, password=PASSWORD, token="", remote_addr="127.0.0.1"):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password, "otp_token": token},
        REMOTE_ADDR=remote_addr,
    )


@pytest.fixture
def reviewer(db):
    user = UserFactory(roles=["compliance_reviewer"])
    return user, totp_device(user)


def test_password_alone_does_not_open_the_admin(client, reviewer):
    user, _device = reviewer
    response = login(client, user.username)
    assert response.status_code == 200  # the form again, with an error
    assert client.get("/admin/").status_code == 302


def test_a_signed_in_but_unverified_session_is_sent_to_the_login(client, reviewer):
    user, _device = reviewer
    client.force_login(user)
    response = client.get("/admin/accounts/party/")
    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")


def test_password_and_current_code_open_the_admin(client, reviewer):
    user, device = reviewer
    response = login(client, user.username, token=current_code(device))
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_wrong_code_is_refused(client, reviewer):
    user, device = reviewer
    wrong = f"{(int(current_code(device)) + 1) % 1_000_000:06d}"
    login(client, user.username, token=wrong)
    assert client.get("/admin/").status_code == 302


def test_staff_without_a_device_cannot_sign_in(client, db):
    user = UserFactory(roles=["compliance_reviewer"])
    login(client, user.username, token="123456")
    assert client.get("/admin/").status_code == 302


@override_settings(AXES_FAILURE_LIMIT=3)
def test_repeated_failures_lock_the_account_from_that_address(client, reviewer):
    user, device = reviewer
    for _ in range(3):
        login(client, user.username, password="wrong-password")
    response = login(client, user.username, token=current_code(device))
    assert response.status_code == 429
    assert client.get("/admin/").status_code == 302


@override_settings(AXES_FAILURE_LIMIT=3)
def test_the_lock_is_per_account_and_address(client, reviewer):
    user, device = reviewer
    for _ in range(3):
        login(client, user.username, password="wrong-password", remote_addr="10.1.1.1")
    # Same account from another address, and another account from the locked address, still work.
    assert (
        login(client, user.username, token=current_code(device), remote_addr="10.2.2.2").status_code
        == 302
    )
    client.logout()
    other = UserFactory(roles=["compliance_reviewer"])
    other_device = totp_device(other)
    assert (
        login(
            client, other.username, token=current_code(other_device), remote_addr="10.1.1.1"
        ).status_code
        == 302
    )


@override_settings(AXES_FAILURE_LIMIT=3, AXES_COOLOFF_TIME=0.25)
def test_the_lock_ends_after_the_cool_off(client, reviewer, time_machine):
    user, device = reviewer
    time_machine.move_to("2026-11-23 10:00 +08:00", tick=False)
    for _ in range(3):
        login(client, user.username, password="wrong-password")
    time_machine.move_to("2026-11-23 10:16 +08:00", tick=False)
    assert login(client, user.username, token=current_code(device)).status_code == 302
