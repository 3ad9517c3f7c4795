"""Consumers' contact details (encrypted, found through a keyed hash, shown masked) and the
private tracking links."""

from __future__ import annotations

import hmac
import re
import secrets
import unicodedata

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
# A code as new_tracking_code draws it; anything else opens nothing and is not looked up.
_CODE_SHAPE = re.compile(f"[CR][{_CODE_ALPHABET}]{{9}}")


# --- Contacts ----------------------------------------------------------------------------------


# Every dash (Unicode's "Pd": the hyphen U+2010, the en and em dashes an input method offers for
# '-', the wave dash...) and the minus sign, as the ASCII hyphen-minus. NFKC leaves them as they
# are. Only the Basic Multilingual Plane has dashes an order number or a phone could carry.
_DASHES = {
    code: "-"
    for code in range(0x80, 0x10000)
    if unicodedata.category(chr(code)) == "Pd" or code == 0x2212
}


def fold_width(text: str) -> str:
    """Full-width letters, digits and signs as their ASCII forms (NFKC), and any dash as '-':
    what a Chinese input method types in full-width mode, '１３８…' or 'ＯＲＤ－１', or with
    another dash, 'ORD‐1' or 'ORD—1', is the same number as 138… or ORD-1, for every limit,
    duplicate check and reputation that keys on it."""
    return unicodedata.normalize("NFKC", text).translate(_DASHES)


def order_key(order_number: str) -> str:
    """An order number as limits and the once-per-order rule compare it: half width, no spaces,
    in capitals (complaints.models.ORDER_KEY is the same in SQL, over stored numbers)."""
    return "".join(fold_width(order_number).split()).upper()


def normalise_email(email: str) -> str:
    return fold_width(email).strip().lower()


def normalise_phone(phone: str) -> str:
    # Digits of other scripts, which str.isdigit() takes too, as the ASCII digit of their value.
    digits = "".join(str(unicodedata.decimal(ch)) for ch in fold_width(phone) if ch.isdecimal())
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
    code = code.strip().upper()
    # What cannot be a code is not looked up: PostgreSQL refuses a NUL byte in a query (an
    # error, a 500), where this is just a wrong link.
    case = Case.objects.filter(tracking_code=code).first() if _CODE_SHAPE.fullmatch(code) else None
    if case is None:
        # Spend the same HMAC either way.
        _tracking_token(code, "0" * 32)
        return None
    secrets_to_try = [None, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    for secret in secrets_to_try:
        # As bytes: compare_digest refuses a str with non-ASCII characters (a TypeError, a 500)
        # instead of answering that it does not match.
        if hmac.compare_digest(
            _tracking_token(case.tracking_code, case.tracking_nonce, secret).encode(),
            token.encode(),
        ):
            return case
    return None


def new_tracking_code(kind: str) -> str:
    prefix = "C" if kind == CaseKind.COMPLAINT else "R"
    return prefix + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(9))
