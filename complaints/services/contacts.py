"""Consumers' contact details (encrypted, found through a keyed hash, shown masked) and the
private tracking links."""

from __future__ import annotations

import hmac
import secrets

from django.conf import settings
from django.utils.crypto import salted_hmac

from accounts import crypto
from accounts.identity import identity_hash
from complaints.models import (
    Case,
    CaseKind,
)

_TRACKING_SALT = "complaints.tracking"
_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read out over the phone


# --- Contacts ----------------------------------------------------------------------------------


def normalise_email(email: str) -> str:
    return email.strip().lower()


def normalise_phone(phone: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit())
    # +86 / 0086 in front of a mainland mobile number is the same number.
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    elif len(digits) == 15 and digits.startswith("0086"):
        digits = digits[4:]
    return digits


def contact_key(*, email: str = "", phone: str = "") -> str:
    """Keyed hash of the contact (e-mail first, else phone); "" when there is neither."""
    if email.strip():
        return identity_hash("email:" + normalise_email(email))
    if phone.strip():
        return identity_hash("phone:" + normalise_phone(phone))
    return ""


def contact_email(case: Case) -> str:
    return (
        crypto.decrypt(case.contact_email_enc, context="complaints.email")
        if case.contact_email_enc
        else ""
    )


def contact_phone(case: Case) -> str:
    return (
        crypto.decrypt(case.contact_phone_enc, context="complaints.phone")
        if case.contact_phone_enc
        else ""
    )


def contact_masked(case: Case) -> str:
    """What staff see: `a***@example.com`, `138****5678`."""
    parts = []
    email = contact_email(case)
    if email:
        local, _at, domain = email.partition("@")
        parts.append(f"{local[:1]}***@{domain}")
    phone = contact_phone(case)
    if phone:
        parts.append(crypto.mask_phone(phone))
    return " / ".join(parts)


# --- Tracking ----------------------------------------------------------------------------------


def _tracking_token(code: str, nonce: str, secret: str | None = None) -> str:
    return salted_hmac(
        _TRACKING_SALT, f"{code}:{nonce}", secret=secret, algorithm="sha256"
    ).hexdigest()[:32]


def tracking_token(case: Case) -> str:
    """The secret part of the case's private tracking link."""
    return _tracking_token(case.tracking_code, case.tracking_nonce)


def case_for_tracking(code: str, token: str) -> Case | None:
    """The case this link opens, or None -- the same None for an unknown code and a wrong token,
    so that a guess learns nothing about which codes exist."""
    case = Case.objects.filter(tracking_code=code.strip().upper()).first()
    if case is None:
        # Spend the same HMAC either way.
        _tracking_token(code, "0" * 32)
        return None
    secrets_to_try = [None, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    for secret in secrets_to_try:
        if hmac.compare_digest(
            _tracking_token(case.tracking_code, case.tracking_nonce, secret), token
        ):
            return case
    return None


def new_tracking_code(kind: str) -> str:
    prefix = "C" if kind == CaseKind.COMPLAINT else "R"
    return prefix + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(9))
