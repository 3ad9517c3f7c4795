"""Keeping the public complaint channel open for people and closed to floods (LCM Art. 20).

The channel must stay easy for a consumer on a phone with no account, so nothing here asks them
to prove anything. Instead:

- **Rate limits** per client address and per contact, counted in the cache with one atomic
  increment per request in a fixed window, as the API's throttles do (config/api/throttling.py).
  A slot is taken before the work and given back when the submission turns out invalid, so a
  consumer's typing mistakes never count against them, and two requests racing for the last slot
  cannot both get it.
- **A honeypot**: a field that people never see and naive bots fill in (see `HONEYPOT`).
- **One submission per form page**: a double click, a resent POST or a second tab files once
  (see `Submission`).
- Duplicates and reporter reputation are judged in `complaints.services` at filing and at
  decision, where the data is; nothing is refused for them.

Addresses and contacts are personal information: cache keys carry only keyed hashes of them.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import ngettext_lazy

from complaints.services.contacts import order_key

HOUR = 60 * 60
DAY = 24 * HOUR

# The honeypot field's name. Hidden from people by CSS, aria-hidden and tabindex=-1, and named
# like a field a bot would fill but no browser's autofill targets.
HONEYPOT = "homepage"


@dataclass(frozen=True)
class Limit:
    scope: str
    limit: int
    window: int  # seconds
    # Shown on the 429 page: what was limited (ngettext_lazy with the number named "limit").
    text: object

    def _key(self, ident: str, window_start: int) -> str:
        return f"complaints:abuse:{self.scope}:{ident}:{window_start}"

    def _window_start(self) -> int:
        now = int(time.time())
        return now - now % self.window

    def take(self, ident: str) -> Slot:
        """Count one request against `ident`; the slot says whether it is within the limit."""
        start = self._window_start()
        key = self._key(ident, start)
        cache.add(key, 0, self.window + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # the entry expired between add and incr
            cache.add(key, 1, self.window + 1)
            count = 1
        return Slot(self, key if count <= self.limit else None, count <= self.limit, start)

    def exceeded(self, ident: str) -> Slot | None:
        """A refused slot when `ident` has used up the window already, without counting."""
        start = self._window_start()
        if (cache.get(self._key(ident, start)) or 0) >= self.limit:
            return Slot(self, None, False, start)
        return None

    def message(self) -> str:
        return self.text % {"limit": self.limit}


@dataclass(frozen=True)
class Slot:
    limit: Limit
    key: str | None  # set while the slot holds a count that may be given back
    allowed: bool
    window_start: int

    def release(self) -> None:
        """Give the count back: the request did not end up using what was limited."""
        if self.key is None:
            return
        # ValueError: the window ended meanwhile, and there is nothing to give back.
        with contextlib.suppress(ValueError):
            cache.decr(self.key)

    @property
    def retry_after(self) -> int:
        """Seconds until the window ends (for the Retry-After header)."""
        return max(self.window_start + self.limit.window - int(time.time()), 1)

    @property
    def retry_at(self) -> datetime:
        return timezone.localtime(
            datetime.fromtimestamp(self.window_start + self.limit.window, tz=UTC)
        )


# --- The limits ----------------------------------------------------------------------------------
# Functions, not constants: the figures are settings an operator (or a test) may change.


def _setting(name: str, default: int) -> int:
    return getattr(settings, name, default)


def filings_per_address() -> Limit:
    return Limit(
        "filings-address",
        settings.COMPLAINT_FILINGS_PER_ADDRESS_HOUR,
        HOUR,
        # Translators: the limit on complaints and reports sent from one network in an hour.
        ngettext_lazy(
            "We accept at most %(limit)s complaint or report per hour from one network.",
            "We accept at most %(limit)s complaints and reports per hour from one network.",
            "limit",
        ),
    )


def filings_per_contact() -> Limit:
    return Limit(
        "filings-contact",
        settings.COMPLAINT_FILINGS_PER_CONTACT_DAY,
        DAY,
        ngettext_lazy(
            "We accept at most %(limit)s complaint or report a day from one e-mail address "
            "or phone.",
            "We accept at most %(limit)s complaints and reports a day from one e-mail address or "
            "phone.",
            "limit",
        ),
    )


def attempts_per_address() -> Limit:
    """Every send of a form, valid or not, counted against a looser limit: invalid submissions
    give their filing slot back, but each one still costs decoding up to nine images."""
    limit = _setting(
        "COMPLAINT_ATTEMPTS_PER_ADDRESS_HOUR", 3 * settings.COMPLAINT_FILINGS_PER_ADDRESS_HOUR
    )
    return Limit(
        "attempts-address",
        limit,
        HOUR,
        ngettext_lazy(
            "We accept at most %(limit)s form submission per hour from one network.",
            "We accept at most %(limit)s form submissions per hour from one network.",
            "limit",
        ),
    )


def searches_per_address() -> Limit:
    return Limit(
        "searches-address",
        _setting("COMPLAINT_SEARCHES_PER_ADDRESS_HOUR", 120),
        HOUR,
        ngettext_lazy(
            "We answer at most %(limit)s search per hour from one network.",
            "We answer at most %(limit)s searches per hour from one network.",
            "limit",
        ),
    )


def evaluations_per_address() -> Limit:
    return Limit(
        "evaluations-address",
        _setting(
            "COMPLAINT_EVALUATIONS_PER_ADDRESS_HOUR", settings.COMPLAINT_FILINGS_PER_ADDRESS_HOUR
        ),
        HOUR,
        ngettext_lazy(
            "We accept at most %(limit)s evaluation per hour from one network.",
            "We accept at most %(limit)s evaluations per hour from one network.",
            "limit",
        ),
    )


def evaluations_per_order() -> Limit:
    """The order number stands in for the buyer: an evaluation form has no contact field."""
    return Limit(
        "evaluations-order",
        _setting("COMPLAINT_EVALUATIONS_PER_ORDER_DAY", 3),
        DAY,
        ngettext_lazy(
            "We accept at most %(limit)s evaluation a day for one order.",
            "We accept at most %(limit)s evaluations a day for one order.",
            "limit",
        ),
    )


def tracking_posts_per_address() -> Limit:
    return Limit(
        "tracking-address",
        _setting("COMPLAINT_TRACKING_POSTS_PER_ADDRESS_HOUR", 30),
        HOUR,
        ngettext_lazy(
            "We accept at most %(limit)s update per hour from one network.",
            "We accept at most %(limit)s updates per hour from one network.",
            "limit",
        ),
    )


def tracking_posts_per_case() -> Limit:
    """One case's reviewer should not find a hundred additions in the morning."""
    return Limit(
        "tracking-case",
        _setting("COMPLAINT_TRACKING_POSTS_PER_CASE_DAY", 20),
        DAY,
        ngettext_lazy(
            "We accept at most %(limit)s update a day to one case.",
            "We accept at most %(limit)s updates a day to one case.",
            "limit",
        ),
    )


def tracking_misses_per_address() -> Limit:
    """Links that open nothing. A tracking token is 128 bits, so guessing is hopeless anyway;
    this keeps someone trying from costing us a database query per try."""
    return Limit(
        "tracking-miss",
        _setting("COMPLAINT_TRACKING_MISSES_PER_ADDRESS_HOUR", 30),
        HOUR,
        ngettext_lazy(
            "We open at most %(limit)s unknown tracking link per hour from one network.",
            "We open at most %(limit)s unknown tracking links per hour from one network.",
            "limit",
        ),
    )


# --- Who is asking -------------------------------------------------------------------------------


def client_address(request) -> str:
    """The client's address, as far as we can trust it.

    REMOTE_ADDR, unless the deployment says it runs behind `TRUSTED_PROXY_COUNT` reverse proxies
    (the setting django-axes reads too): then the entry that the outermost trusted proxy added to
    X-Forwarded-For. Entries further left are whatever the client sent and are never trusted.
    IPv6 clients are grouped by /64, the block one subscriber line usually gets, so that cycling
    through addresses within it does not reset the count.
    """
    address = request.META.get("REMOTE_ADDR", "")
    proxies = getattr(settings, "AXES_IPWARE_PROXY_COUNT", None) or 0
    if proxies:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            address = forwarded[-proxies]
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def address_ident(request) -> str:
    """The cache's name for the client's address: a keyed hash, not the address itself."""
    return salted_hmac("complaints.abuse.address", client_address(request)).hexdigest()[:32]


def order_ident(order_number: str) -> str:
    return salted_hmac("complaints.abuse.order", order_key(order_number)).hexdigest()[:32]


def honeypot_filled(data) -> bool:
    return bool(data.get(HONEYPOT, "").strip())


def generic_refusal() -> str:
    """What a tripped honeypot is told: not why, so that a bot learns nothing; and not a fake
    success, so that a person whose browser somehow filled the field never believes a complaint
    was filed when it was not."""
    return _("We could not accept this submission. Check the form and send it again.")


# --- One submission per form page ---------------------------------------------------------------
# Each form page carries a random token in a hidden field. The first POST with it claims it in the
# cache (an atomic add); a second POST with the same token -- a double click, the browser resending
# after a slow answer, the form sent again from the back button -- does not file a second case but
# is shown what the first filed. A submission that stores nothing gives its token back, so that
# the consumer can correct the form and send it again. A POST without a token (a page served
# before tokens existed) files as before.

SUBMISSION = "submission"
SUBMISSION_TTL = DAY
# How long a second POST waits for the first to finish before it is told to try again.
SUBMISSION_WAIT = 3.0
_TOKEN = re.compile(r"[A-Za-z0-9_-]{22}")
_PENDING = "pending"


def submission_token() -> str:
    """A fresh token for a form page: 128 random bits."""
    return secrets.token_urlsafe(16)


@dataclass(frozen=True)
class Submission:
    key: str | None  # None: the POST carried no token
    first: bool

    @classmethod
    def claim(cls, data) -> Submission:
        token = data.get(SUBMISSION, "")
        if not isinstance(token, str) or not _TOKEN.fullmatch(token):
            return cls(None, True)
        key = f"complaints:submission:{token}"
        return cls(key, cache.add(key, _PENDING, SUBMISSION_TTL))

    def stored(self, pk: int) -> None:
        """What the first submission stored, for the ones after it."""
        if self.key is not None and self.first:
            cache.set(self.key, pk, SUBMISSION_TTL)

    def release(self) -> None:
        """Nothing was stored: the token may be used again."""
        if self.key is not None and self.first:
            cache.delete(self.key)

    def outcome(self) -> int | None:
        """For a submission after the first: the id the first stored, waiting up to
        SUBMISSION_WAIT seconds for it to finish; None if it is still running or stored
        nothing."""
        deadline = time.monotonic() + SUBMISSION_WAIT
        while True:
            value = cache.get(self.key)
            if value != _PENDING or time.monotonic() >= deadline:
                return value if isinstance(value, int) else None
            time.sleep(0.1)


def submission_in_progress() -> str:
    return _(
        "This form has just been sent and is still being filed. Wait a moment, then press the "
        "button again: you will see what was filed, and nothing is filed twice."
    )
