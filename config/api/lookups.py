"""Ids typed by people (URLs, filters, search boxes) that no row can have."""

from django.http import Http404

# Primary keys are 64-bit. A longer number in a URL names nothing, and SQLite refuses to bind it
# at all (an OverflowError, a 500) where PostgreSQL would merely find no row.
BIGINT_MAX = 2**63 - 1


def require_storable_id(value) -> None:
    """404 for an id in a URL too large for any primary key; anything else is left to the
    lookup, which answers 404 for what is not a number."""
    text = str(value).strip()
    digits = text.removeprefix("-")
    # ASCII digits only: '²' and '①' are digits to str.isdigit() and not numbers to int() (a
    # ValueError, a 500). The lookup finds nothing for them.
    if digits.isascii() and digits.isdigit() and int(digits) > BIGINT_MAX:
        raise Http404


def storable_id(text: str) -> int | None:
    """The id `text` names, or None when no row can have it. str.isdigit() alone also takes
    '²' and '①' (which int() refuses), and int() refuses numbers of more than 4,300 digits;
    a number beyond a 64-bit key makes the database driver fail instead of finding nothing."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(BIGINT_MAX)):
        return None
    value = int(text)
    return value if value <= BIGINT_MAX else None
