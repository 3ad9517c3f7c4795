"""Encryption at rest and masking of identity numbers (resident ID numbers, credit codes).

The ID numbers of anchors, guardians and natural-person merchants are sensitive personal
information (PIPL Art. 28); Art. 51 and GB/T 35273 ask for encryption and de-identification
(RULES.md §8). Three tools, each for one job:

- `accounts.identity.identity_hash` -- a keyed hash, for *finding* "the same person" (duplicate
  registrations, bans, blacklists) without decrypting anything. It cannot be reversed.
- `encrypt` / `decrypt` here -- for *revealing* the number, which only a holder of the reveal
  permission may do, and every reveal writes an audit entry. Nothing else decrypts: lists, search,
  exports and logs work from the hash and the mask.
- `mask_id_number` / `mask_phone` -- what every screen, export and log line shows instead. A
  masked value lets a reviewer tell two people apart or confirm a number read out on the phone,
  without the page itself becoming a copy of the number.

Why AES-256-GCM: it is authenticated encryption, so a ciphertext that was altered -- in the
database, in a backup, by a bug -- fails to decrypt instead of decrypting to a different number.
Every encryption draws a fresh 12-byte nonce from the OS, so the same number encrypts differently
each time and equal ciphertexts reveal nothing. (Random nonces are safe for about 2**32 messages
per key; rotation resets the count long before we get near it.)

The `context` (e.g. "anchor.id_number") is GCM's associated data: it is not stored in the token
but must be given again to decrypt. A ciphertext copied into another column, or another table,
therefore fails to decrypt there -- a guardian's number cannot be made to show up as an anchor's.

Tokens are text, `v1:<key id>:<urlsafe base64 of nonce + ciphertext + tag>`, so they fit a
`TextField` and say which key made them. The key id is what makes rotation possible: new values
are encrypted under `IDENTITY_ENCRYPTION_PRIMARY`, old values still decrypt with the key their
token names, and the steps are (1) add the new key to `IDENTITY_ENCRYPTION_KEYS` and make it
primary, (2) re-encrypt every token for which `needs_rotation` is true with `rotate`, (3) only
then remove the old key -- tokens under a removed key can never be decrypted again. (Fernet was
not used: it has no associated data, and MultiFernet tries every key instead of naming one.)

Keys are 32 random bytes, configured as `k1:<urlsafe base64>,k2:<...>` (see `parse_keyring`); one
can be made with
`python -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())"`.
The encryption keys are separate from `IDENTITY_HASH_KEY`, which is never rotated this way: a new
hash key would change every hash and break look-ups until all of them were recomputed.

Error messages here never contain a plaintext, a token's payload or key material: they end up in
logs and error reports, which are exactly where a number must not leak.
"""

from __future__ import annotations

import base64
import binascii
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables

from accounts.identity import normalise_identifier

VERSION = "v1"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16

_KEY_ID = re.compile(r"[a-z0-9]{1,8}")
# Padding is optional on the way in: we write tokens without it, an operator may paste keys with.
_URLSAFE_B64 = re.compile(r"[A-Za-z0-9_-]+={0,2}")
_CHINESE_MOBILE = re.compile(r"(?:\+86|0086|86)?(1[3-9]\d{9})")
_PHONE_SEPARATORS = re.compile(r"[\s().-]")


class DecryptionError(Exception):
    """A token that cannot be decrypted: malformed, tampered with, wrong context or unknown key.

    The message says which of these it is, and never what the token or the plaintext was.
    """


# --- Keys --------------------------------------------------------------------------------------


def parse_keyring(text: str, variable: str) -> dict[str, bytes]:
    """Parse `k1:<urlsafe base64 of 32 bytes>,k2:<...>` into `{"k1": b"...", "k2": b"..."}`.

    For settings: every error names `variable` and the item's position, never the key itself.
    """
    if not text.strip():
        raise ImproperlyConfigured(f"{variable} names no keys; expected k1:<base64 key>,...")
    keys: dict[str, bytes] = {}
    for position, item in enumerate(text.split(","), start=1):
        key_id, colon, encoded = (part.strip() for part in item.partition(":"))
        if not (key_id and colon and encoded):
            raise ImproperlyConfigured(
                f"{variable}: item {position} is not of the form <key id>:<base64 key>."
            )
        # The id is not echoed: in a value with its halves swapped, the "id" is the key.
        if not _KEY_ID.fullmatch(key_id):
            raise ImproperlyConfigured(
                f"{variable}: item {position} has an invalid key id; "
                "use 1 to 8 lower-case letters or digits."
            )
        if key_id in keys:
            raise ImproperlyConfigured(f"{variable}: key id {key_id!r} appears more than once.")
        key = _b64decode(encoded)
        if key is None or len(key) != KEY_BYTES:
            raise ImproperlyConfigured(
                f"{variable}: key {key_id!r} must be urlsafe base64 of exactly {KEY_BYTES} bytes."
            )
        keys[key_id] = key
    return keys


def _keyring() -> dict[str, bytes]:
    keys = getattr(settings, "IDENTITY_ENCRYPTION_KEYS", None)
    if not keys:
        raise ImproperlyConfigured("Set IDENTITY_ENCRYPTION_KEYS to encrypt identity numbers.")
    return keys


def _key(key_id: str) -> bytes:
    """The key named `key_id`; DecryptionError if the keyring has no such key."""
    keys = _keyring()
    if key_id not in keys:
        # A key id is not secret, and it is what an operator needs to know which key went missing.
        raise DecryptionError(f"No key {key_id!r} in IDENTITY_ENCRYPTION_KEYS.")
    key = keys[key_id]
    if not isinstance(key, bytes) or len(key) != KEY_BYTES:
        raise ImproperlyConfigured(
            f"IDENTITY_ENCRYPTION_KEYS[{key_id!r}] must be exactly {KEY_BYTES} bytes."
        )
    return key


def _primary_key_id() -> str:
    key_id = getattr(settings, "IDENTITY_ENCRYPTION_PRIMARY", None)
    if not isinstance(key_id, str) or not _KEY_ID.fullmatch(key_id):
        raise ImproperlyConfigured(
            "IDENTITY_ENCRYPTION_PRIMARY must name a key id of 1 to 8 lower-case letters or digits."
        )
    if key_id not in _keyring():
        raise ImproperlyConfigured(
            f"IDENTITY_ENCRYPTION_PRIMARY names {key_id!r}, which is not in "
            "IDENTITY_ENCRYPTION_KEYS."
        )
    return key_id


# --- Tokens ------------------------------------------------------------------------------------


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _b64decode(text: str) -> bytes | None:
    """Urlsafe base64 with or without padding; None for anything else.

    The alphabet is checked first because the standard library silently skips characters outside
    it, which would let junk in a token pass as part of the payload.
    """
    if not _URLSAFE_B64.fullmatch(text):
        return None
    stripped = text.rstrip("=")
    try:
        return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except (binascii.Error, ValueError):
        return None


def _check_context(context: str) -> bytes:
    if not isinstance(context, str) or not context:
        # A programming error, not bad data: every column names its own context.
        raise ValueError("context must be a non-empty string such as 'anchor.id_number'.")
    return context.encode("utf-8")


def _parse(token: str) -> tuple[str, bytes]:
    """(key id, nonce + ciphertext + tag) of a well-formed token; DecryptionError otherwise."""
    if not isinstance(token, str):
        raise DecryptionError("Not an encrypted token: expected text.")
    parts = token.split(":")
    if len(parts) != 3 or parts[0] != VERSION:
        raise DecryptionError(f"Not an encrypted token: expected {VERSION}:<key id>:<data>.")
    _version, key_id, payload = parts
    if not _KEY_ID.fullmatch(key_id):
        raise DecryptionError("Malformed token: invalid key id.")
    data = _b64decode(payload)
    if data is None or len(data) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("Malformed token: the data is not valid or is truncated.")
    return key_id, data


# Hidden from Django's error reports (the debug page, mail to ADMINS), which show local variables.
@sensitive_variables()
def encrypt(plaintext: str, *, context: str) -> str:
    """Encrypt `plaintext` under the primary key, bound to `context` (e.g. "anchor.id_number")."""
    if not isinstance(plaintext, str):
        raise TypeError("plaintext must be a string.")
    associated_data = _check_context(context)
    key_id = _primary_key_id()
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(_key(key_id)).encrypt(nonce, plaintext.encode("utf-8"), associated_data)
    return f"{VERSION}:{key_id}:{_b64encode(nonce + sealed)}"


@sensitive_variables()
def decrypt(token: str, *, context: str) -> str:
    """The plaintext of `token`, which must have been encrypted with the same `context`.

    Uses the key the token names, so tokens written before a rotation keep decrypting for as long
    as their key stays in IDENTITY_ENCRYPTION_KEYS.
    """
    associated_data = _check_context(context)
    key_id, data = _parse(token)
    key = _key(key_id)
    nonce, sealed = data[:NONCE_BYTES], data[NONCE_BYTES:]
    try:
        plaintext = AESGCM(key).decrypt(nonce, sealed, associated_data)
    except InvalidTag:
        # GCM cannot tell these apart, and an attacker should not learn which it was either.
        raise DecryptionError(
            "The token does not decrypt: it was altered, or belongs to another context."
        ) from None
    try:
        return plaintext.decode("utf-8")
    except UnicodeDecodeError:  # authentic but not ours: only if a key was reused elsewhere
        raise DecryptionError("The token decrypts to something that is not text.") from None


def needs_rotation(token: str) -> bool:
    """Whether `token` was encrypted under a key other than the primary one."""
    key_id, _data = _parse(token)
    return key_id != _primary_key_id()


@sensitive_variables()
def rotate(token: str, *, context: str) -> str:
    """`token` re-encrypted under the primary key (always a fresh token, even if already there).

    Batch jobs filter with `needs_rotation` first, so rows already under the primary key are not
    rewritten for nothing.
    """
    return encrypt(decrypt(token, context=context), context=context)


# --- Masking -----------------------------------------------------------------------------------


def mask_id_number(number: str) -> str:
    """`3301**********123X`: the first and last 4 characters of an 18-character number.

    Works the same for resident ID numbers and unified social credit codes, after removing spaces
    and hyphens and upper-casing (as `identity_hash` does, so `...123x` shows as `...123X`). The
    length is kept. Each end shows at most a quarter of the value, so at least half is always
    hidden: 16 characters and longer show 4 + 4, a 9-character passport number shows 2 + 2, and
    anything shorter than 8 characters is all asterisks.
    """
    normalised = normalise_identifier(number)
    length = len(normalised)
    if length < 8:
        return "*" * length
    shown = min(4, length // 4)
    return normalised[:shown] + "*" * (length - 2 * shown) + normalised[-shown:]


def mask_phone(number: str) -> str:
    """`138****5678` for a Chinese mobile number; the last digits only for anything else.

    Spaces, hyphens, dots and brackets are removed first. A mainland mobile number (11 digits
    starting 13-19, with or without +86/0086/86 in front) shows its first 3 and last 4 digits, the
    usual form on Chinese screens; the country code is dropped. Any other number -- landlines with
    their area code, foreign numbers, short service numbers -- is all asterisks except its last 4
    characters, and never more than half of it: `0571-88881234` -> `********1234`, `95588` ->
    `***88`.
    """
    compact = _PHONE_SEPARATORS.sub("", number)
    mobile = _CHINESE_MOBILE.fullmatch(compact)
    if mobile:
        digits = mobile.group(1)
        return f"{digits[:3]}****{digits[-4:]}"
    shown = min(4, len(compact) // 2)
    hidden = len(compact) - shown
    return "*" * hidden + compact[hidden:]
