"""Keyed hashing of identity numbers (resident ID numbers, unified social credit codes).

The hash is how the registry finds "the same person or business" -- duplicate registrations,
re-registration bans, blacklists -- without storing or comparing plaintext. It is an HMAC with a
key from settings, never a bare hash: the space of 18-digit ID numbers is small enough to
enumerate (RULES.md §8, PIPL Art. 51).
"""

import hashlib
import hmac

from django.conf import settings


def normalise_identifier(identifier: str) -> str:
    """Upper-case and without separators, so `330106199001011234x` and `3301 0619...X` agree."""
    return "".join(identifier.split()).replace("-", "").upper()


def identity_hash(identifier: str) -> str:
    key = settings.IDENTITY_HASH_KEY.encode()
    message = normalise_identifier(identifier).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
