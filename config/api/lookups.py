"""Ids in URLs that no row can have."""

from django.http import Http404

# Primary keys are 64-bit. A longer number in a URL names nothing, and SQLite refuses to bind it
# at all (an OverflowError, a 500) where PostgreSQL would merely find no row.
BIGINT_MAX = 2**63 - 1


def require_storable_id(value) -> None:
    """404 for an id in a URL too large for any primary key; anything else is left to the
    lookup, which answers 404 for what is not a number."""
    text = str(value).strip()
    if text.lstrip("-").isdigit() and abs(int(text)) > BIGINT_MAX:
        raise Http404
