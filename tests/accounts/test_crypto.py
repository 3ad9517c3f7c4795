"""Encryption at rest of identity numbers: round trips, tampering, contexts, rotation, masking."""

import base64
import os

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.views.debug import ExceptionReporter
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.crypto import (
    DecryptionError,
    decrypt,
    encrypt,
    mask_id_number,
    mask_phone,
    needs_rotation,
    parse_keyring,
    rotate,
)

ID_NUMBER = "330106199001011234"
CONTEXT = "anchor.id_number"
K1 = os.urandom(32)
K2 = os.urandom(32)
# Decodes fine as standard base64 but uses "+" and "/", which urlsafe base64 does not.
STANDARD_ALPHABET = base64.b64encode(b"\xfb" * 46).decode()


@pytest.fixture(autouse=True)
def keyring(settings):
    settings.IDENTITY_ENCRYPTION_KEYS = {"k1": K1}
    settings.IDENTITY_ENCRYPTION_PRIMARY = "k1"
    return settings


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def with_payload(token: str, change) -> str:
    """`token` with its decoded nonce + ciphertext + tag passed through `change`."""
    version, key_id, payload = token.split(":")
    data = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    return f"{version}:{key_id}:{b64(change(data))}"


def flip_byte(index: int):
    def change(data: bytes) -> bytes:
        data = bytearray(data)
        data[index] ^= 0x01
        return bytes(data)

    return change


# --- round trip --------------------------------------------------------------------------------


def test_decrypt_returns_what_was_encrypted():
    token = encrypt(ID_NUMBER, context=CONTEXT)

    assert decrypt(token, context=CONTEXT) == ID_NUMBER


def test_token_is_text_naming_version_and_primary_key():
    version, key_id, payload = encrypt(ID_NUMBER, context=CONTEXT).split(":")

    assert (version, key_id) == ("v1", "k1")
    assert "=" not in payload
    # 12-byte nonce + 18 bytes of ciphertext + 16-byte tag.
    assert len(base64.urlsafe_b64decode(payload + "==")) == 12 + 18 + 16


def test_same_value_encrypts_differently_each_time():
    first = encrypt(ID_NUMBER, context=CONTEXT)
    second = encrypt(ID_NUMBER, context=CONTEXT)

    assert first != second
    assert decrypt(first, context=CONTEXT) == decrypt(second, context=CONTEXT) == ID_NUMBER


def test_token_does_not_contain_the_number_or_any_run_of_its_digits():
    number = "33010619900101123X"
    token = encrypt(number, context=CONTEXT)

    assert number not in token
    assert not any(number[i : i + 6] in token for i in range(len(number) - 5))


def test_padded_token_still_decrypts():
    token = encrypt(ID_NUMBER, context=CONTEXT)
    padded = token + "=" * (-len(token.split(":")[2]) % 4)

    assert decrypt(padded, context=CONTEXT) == ID_NUMBER


def test_non_ascii_text_round_trips():
    token = encrypt("张三 330106199001011234", context="guardian.id_number")

    assert decrypt(token, context="guardian.id_number") == "张三 330106199001011234"


@hypothesis_settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plaintext=st.text(), context=st.text(min_size=1))
def test_any_text_round_trips_under_any_context(plaintext, context):
    assert decrypt(encrypt(plaintext, context=context), context=context) == plaintext


def test_empty_context_is_a_programming_error():
    with pytest.raises(ValueError, match="context"):
        encrypt(ID_NUMBER, context="")


# --- refusing to decrypt -----------------------------------------------------------------------


def test_token_does_not_decrypt_under_another_context():
    token = encrypt(ID_NUMBER, context="anchor.id_number")

    with pytest.raises(DecryptionError):
        decrypt(token, context="guardian.id_number")


@pytest.mark.parametrize(
    "index", [0, 11, 12, 29, -1], ids=["nonce", "nonce-end", "ciphertext", "ciphertext-end", "tag"]
)
def test_flipped_byte_anywhere_in_the_token_is_detected(index):
    token = with_payload(encrypt(ID_NUMBER, context=CONTEXT), flip_byte(index))

    with pytest.raises(DecryptionError):
        decrypt(token, context=CONTEXT)


def test_token_under_unknown_key_id_names_the_key(settings):
    token = encrypt(ID_NUMBER, context=CONTEXT).replace("v1:k1:", "v1:k9:")

    with pytest.raises(DecryptionError, match="'k9'"):
        decrypt(token, context=CONTEXT)


def test_token_moved_to_another_key_id_does_not_decrypt(settings):
    settings.IDENTITY_ENCRYPTION_KEYS = {"k1": K1, "k2": K2}
    token = encrypt(ID_NUMBER, context=CONTEXT).replace("v1:k1:", "v1:k2:")

    with pytest.raises(DecryptionError):
        decrypt(token, context=CONTEXT)


@pytest.mark.parametrize(
    "token",
    [
        "",
        ID_NUMBER,
        "v1:k1",
        "v1:k1:",
        "v2:k1:" + b64(os.urandom(46)),
        "v1:K1:" + b64(os.urandom(46)),
        "v1:toolongid:" + b64(os.urandom(46)),
        "v1:k1:" + b64(os.urandom(46)) + ":extra",
        "v1:k1:" + b64(os.urandom(27)),  # shorter than nonce + tag
        "v1:k1:not base64!",
        "v1:k1:" + STANDARD_ALPHABET,
        "v1:k1:A",  # not a possible base64 length
        "v1:k1:" + b64(os.urandom(46)),  # well-formed, but random
    ],
    ids=[
        "empty",
        "plaintext",
        "no-data",
        "empty-data",
        "unknown-version",
        "upper-case-key-id",
        "long-key-id",
        "extra-part",
        "truncated",
        "not-base64",
        "wrong-alphabet",
        "impossible-length",
        "garbage",
    ],
)
def test_malformed_token_raises_decryption_error(token):
    with pytest.raises(DecryptionError):
        decrypt(token, context=CONTEXT)


def test_truncated_real_token_raises_decryption_error():
    token = encrypt(ID_NUMBER, context=CONTEXT)

    with pytest.raises(DecryptionError):
        decrypt(token[:-4], context=CONTEXT)


def test_non_text_token_raises_decryption_error():
    with pytest.raises(DecryptionError):
        decrypt(None, context=CONTEXT)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "make_bad",
    [
        lambda token: decrypt(token, context="guardian.id_number"),
        lambda token: decrypt(with_payload(token, flip_byte(20)), context=CONTEXT),
        lambda token: decrypt(token.replace("v1:k1:", "v1:k9:"), context=CONTEXT),
        lambda token: decrypt(token[:20], context=CONTEXT),
        lambda token: decrypt(ID_NUMBER, context=CONTEXT),
        lambda token: decrypt(f"v1:{ID_NUMBER[:8]}:{ID_NUMBER}", context=CONTEXT),
    ],
    ids=["wrong-context", "tampered", "unknown-key", "truncated", "plaintext", "digits-in-token"],
)
def test_decryption_error_never_reveals_plaintext_payload_or_key(make_bad):
    token = encrypt(ID_NUMBER, context=CONTEXT)

    with pytest.raises(DecryptionError) as excinfo:
        make_bad(token)

    message = str(excinfo.value)
    assert ID_NUMBER not in message
    assert ID_NUMBER[-8:] not in message
    assert token.split(":")[2] not in message
    assert b64(K1) not in message
    # No chained exception (binascii, InvalidTag) prints underneath it in a traceback either.
    error = excinfo.value
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


def test_error_reports_do_not_show_the_plaintext_among_local_variables(monkeypatch):
    """Django's debug page and the error mail to ADMINS list every frame's local variables."""

    def fail(data):
        raise RuntimeError("failure inside encrypt")

    monkeypatch.setattr("accounts.crypto._b64encode", fail)
    with pytest.raises(RuntimeError) as excinfo:
        encrypt(ID_NUMBER, context=CONTEXT)

    report = ExceptionReporter(None, excinfo.type, excinfo.value, excinfo.tb)
    frames = report.get_traceback_data()["frames"]
    assert frames
    assert not any(ID_NUMBER in str(value) for frame in frames for _name, value in frame["vars"])


# --- configuration -----------------------------------------------------------------------------


def test_encrypt_without_keys_is_a_configuration_error(settings):
    del settings.IDENTITY_ENCRYPTION_KEYS

    with pytest.raises(ImproperlyConfigured, match="IDENTITY_ENCRYPTION_KEYS"):
        encrypt(ID_NUMBER, context=CONTEXT)


def test_primary_key_id_missing_from_keyring_is_a_configuration_error(settings):
    settings.IDENTITY_ENCRYPTION_PRIMARY = "k2"

    with pytest.raises(ImproperlyConfigured, match="IDENTITY_ENCRYPTION_PRIMARY"):
        encrypt(ID_NUMBER, context=CONTEXT)


def test_key_of_wrong_length_is_a_configuration_error(settings):
    settings.IDENTITY_ENCRYPTION_KEYS = {"k1": os.urandom(16)}

    with pytest.raises(ImproperlyConfigured, match=r"IDENTITY_ENCRYPTION_KEYS\['k1'\]"):
        encrypt(ID_NUMBER, context=CONTEXT)


# --- rotation ----------------------------------------------------------------------------------


def test_token_under_primary_key_needs_no_rotation():
    assert not needs_rotation(encrypt(ID_NUMBER, context=CONTEXT))


def test_rotation_keeps_old_tokens_readable_and_moves_them_to_the_new_key(settings):
    old = encrypt(ID_NUMBER, context=CONTEXT)

    settings.IDENTITY_ENCRYPTION_KEYS = {"k1": K1, "k2": K2}
    settings.IDENTITY_ENCRYPTION_PRIMARY = "k2"

    assert decrypt(old, context=CONTEXT) == ID_NUMBER
    assert needs_rotation(old)
    assert encrypt(ID_NUMBER, context=CONTEXT).startswith("v1:k2:")

    new = rotate(old, context=CONTEXT)

    assert new.startswith("v1:k2:")
    assert decrypt(new, context=CONTEXT) == ID_NUMBER
    assert not needs_rotation(new)

    settings.IDENTITY_ENCRYPTION_KEYS = {"k2": K2}

    assert decrypt(new, context=CONTEXT) == ID_NUMBER
    with pytest.raises(DecryptionError, match="'k1'"):
        decrypt(old, context=CONTEXT)


def test_rotate_refuses_a_token_from_another_context(settings):
    old = encrypt(ID_NUMBER, context=CONTEXT)
    settings.IDENTITY_ENCRYPTION_KEYS = {"k1": K1, "k2": K2}
    settings.IDENTITY_ENCRYPTION_PRIMARY = "k2"

    with pytest.raises(DecryptionError):
        rotate(old, context="guardian.id_number")


def test_needs_rotation_rejects_a_malformed_token():
    with pytest.raises(DecryptionError):
        needs_rotation(ID_NUMBER)


# --- parse_keyring -----------------------------------------------------------------------------

VARIABLE = "IDENTITY_ENCRYPTION_KEYS"


def test_parse_keyring_reads_ids_and_keys():
    text = f"k1:{b64(K1)}, k2 : {base64.urlsafe_b64encode(K2).decode()} "

    assert parse_keyring(text, VARIABLE) == {"k1": K1, "k2": K2}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        b64(K1),
        f"k1:{b64(K1)},",
        f"k1:{b64(K1)},,k2:{b64(K2)}",
        "k1:",
        f":{b64(K1)}",
        f"k1:{b64(K1)},k1:{b64(K2)}",
        f"K1:{b64(K1)}",
        f"key-1:{b64(K1)}",
        f"toolongid:{b64(K1)}",
        f"{b64(K1)}:k1",
        f"k1:{b64(os.urandom(16))}",
        f"k1:{b64(os.urandom(33))}",
        f"k1:{b64(K1)[:-2]}",
        "k1:not base64 at all!",
        f"k1:{STANDARD_ALPHABET[:43]}",
    ],
    ids=[
        "empty",
        "blank",
        "no-key-id",
        "trailing-comma",
        "empty-item",
        "no-key",
        "empty-key-id",
        "duplicate-id",
        "upper-case-id",
        "punctuation-in-id",
        "long-id",
        "halves-swapped",
        "short-key",
        "long-key",
        "truncated-key",
        "not-base64",
        "standard-alphabet",
    ],
)
def test_parse_keyring_rejects_malformed_value_naming_the_variable(text):
    with pytest.raises(ImproperlyConfigured, match=VARIABLE) as excinfo:
        parse_keyring(text, VARIABLE)

    # Nothing that might be key material reaches the message (and from there, the logs).
    for key in (K1, K2):
        assert b64(key)[:8] not in str(excinfo.value)


# --- masking -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("330106199001011234", "3301**********1234"),
        ("33010619900101123X", "3301**********123X"),
        ("33010619900101123x", "3301**********123X"),
        (" 3301 0619 9001 0112 3X ", "3301**********123X"),
        ("91330106MA2B3C4D5E", "9133**********4D5E"),  # unified social credit code
        ("330106900101123", "330*********123"),  # 15-digit first-generation ID
        ("E12345678", "E1*****78"),  # passport: never more than half shown
        ("12345678", "12****78"),
        ("1234567", "*******"),
        ("12", "**"),
        ("", ""),
    ],
)
def test_mask_id_number(number, masked):
    assert mask_id_number(number) == masked


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("13812345678", "138****5678"),
        ("138 1234 5678", "138****5678"),
        ("138-1234-5678", "138****5678"),
        ("+86 138 1234 5678", "138****5678"),
        ("+8613812345678", "138****5678"),
        ("008613812345678", "138****5678"),
        ("0571-88881234", "********1234"),
        ("(0571) 8888 1234", "********1234"),
        ("+44 20 7946 0958", "*********0958"),
        ("88881234", "****1234"),
        ("95588", "***88"),
        ("110", "**0"),
        ("1", "*"),
        ("", ""),
    ],
)
def test_mask_phone(number, masked):
    assert mask_phone(number) == masked


@hypothesis_settings(max_examples=200)
@given(number=st.text(alphabet="0123456789Xx", max_size=30))
def test_masked_id_number_keeps_length_and_hides_at_least_half(number):
    masked = mask_id_number(number)

    assert len(masked) == len(number)
    assert masked.count("*") * 2 >= len(number)
