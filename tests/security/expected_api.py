"""What each API endpoint needs, written down from accounts/scopes.py and the API's documented
rules (DESIGN.md "API conventions", the views' docstrings) -- not read from the views.

Per (URL name, method): the scope a key must hold, and how a key bound to a party is treated:
- OWN: it reaches only its own party's records; another party's is 404, exactly the answer for
  an id that does not exist, so that it cannot tell which ids exist;
- REFUSED: it may not do this at all (403), whatever the record -- filing or changing a consumer's
  complaint, forwarding evaluations of itself, reporting deposit payments, registering parties;
- ANY: the answer does not depend on a party (who the key is, a ping, the consortium's feed).
"""

from __future__ import annotations

from dataclasses import dataclass

OWN, REFUSED, ANY = "own", "refused", "any"
PUBLIC = None  # no key needed: the public credit API and the feed's signing key
ANY_KEY = ""  # any active key, whatever its scopes


@dataclass(frozen=True)
class Records:
    """Where an endpoint's records come from: the model, the attribute its URL addresses them by,
    the path(s) to the owning party, and which of them a party's own key sees at all."""

    model: str
    url_attr: str
    owners: tuple[str, ...]
    visible_to_party: dict | None = None
    # The field of a listed record that holds url_attr's value.
    list_field: str = "id"


PARTY = Records("accounts.party", "pk", ("pk",))
RESTRICTION = Records("accounts.restriction", "pk", ("party_id",))
MERCHANT_FILE = Records(
    "accounts.registrationfile", "party_id", ("party_id",), {"kind": "merchant"}
)
ANCHOR_FILE = Records("accounts.registrationfile", "party_id", ("party_id",), {"kind": "anchor"})
AGENCY_FILE = Records("accounts.registrationfile", "party_id", ("party_id",), {"kind": "agency"})
PRODUCT = Records("merchants.product", "pk", ("merchant_id",))
ROOM = Records("liverooms.liveroom", "pk", ("owner_id",))
SESSION = Records("liverooms.livesession", "pk", ("owner_id",))
ALERT = Records("liverooms.alert", "pk", ("session__owner_id",))
# A case or an evaluation is about a merchant, an anchor, or both.
CASE = Records(
    "complaints.case", "tracking_code", ("merchant_id", "anchor_id"), list_field="tracking_code"
)
# The platform's key changes only the cases it forwarded itself; one filed on the public web form
# is its consumer's alone (403 to every key).
FORWARDED_CASE = Records(
    "complaints.case",
    "tracking_code",
    ("merchant_id", "anchor_id"),
    {"source": "api"},
    list_field="tracking_code",
)
EVALUATION = Records("complaints.evaluation", "pk", ("merchant_id", "anchor_id"))
# A party sees what has been decided about it: confirmed violations, executed measures.
VIOLATION = Records("enforcement.violation", "pk", ("party_id",), {"status": "confirmed"})
MEASURE = Records(
    "enforcement.measure", "pk", ("party_id",), {"executed_at__isnull": False}, "measure_id"
)
APPEAL = Records("enforcement.appeal", "pk", ("measure__party_id",))
DEPOSIT = Records("accounts.party", "pk", ("pk",), list_field="party_id")


@dataclass(frozen=True)
class Endpoint:
    scope: str | None
    party: str = OWN
    records: Records | None = None  # for the detail routes and for checking lists


E = Endpoint
ENDPOINTS: dict[tuple[str, str], Endpoint] = {
    ("live-room-list", "get"): E("live:read", OWN, ROOM),
    ("live-room-list", "post"): E("live:write"),
    ("live-room-detail", "get"): E("live:read", OWN, ROOM),
    ("live-session-list", "get"): E("live:read", OWN, SESSION),
    ("live-session-list", "post"): E("live:write"),  # the go-live gate
    ("live-session-detail", "get"): E("live:read", OWN, SESSION),
    # Monitoring signals and clip labels are the platform's: the monitored party's own key
    # could otherwise move a signal clock ahead of the platform's signals.
    ("live-session-clips", "post"): E("live:write", REFUSED, SESSION),
    ("live-session-end", "post"): E("live:write", OWN, SESSION),
    ("live-session-signals", "post"): E("live:write", REFUSED, SESSION),
    ("alert-list", "get"): E("live:read", OWN, ALERT),
    ("alert-detail", "get"): E("live:read", OWN, ALERT),
    # Which key this is: any key may ask about itself.
    ("api-key", "get"): E(ANY_KEY, ANY),
    ("webhook-ping", "post"): E("webhooks:manage", ANY),
    ("party-list", "get"): E("parties:read", OWN, PARTY),
    ("party-detail", "get"): E("parties:read", OWN, PARTY),
    ("restriction-list", "get"): E("parties:read", OWN, RESTRICTION),
    ("restriction-detail", "get"): E("parties:read", OWN, RESTRICTION),
    ("merchant-list", "get"): E("registration:read", OWN, MERCHANT_FILE),
    ("merchant-list", "post"): E("registration:write", REFUSED),
    ("merchant-detail", "get"): E("registration:read", OWN, MERCHANT_FILE),
    ("merchant-detail", "patch"): E("registration:write", OWN, MERCHANT_FILE),
    ("merchant-documents", "post"): E("registration:write", OWN, MERCHANT_FILE),
    ("merchant-submit", "post"): E("registration:write", OWN, MERCHANT_FILE),
    ("anchor-list", "get"): E("registration:read", OWN, ANCHOR_FILE),
    ("anchor-list", "post"): E("registration:write", REFUSED),
    ("anchor-detail", "get"): E("registration:read", OWN, ANCHOR_FILE),
    ("anchor-detail", "patch"): E("registration:write", OWN, ANCHOR_FILE),
    ("anchor-documents", "post"): E("registration:write", OWN, ANCHOR_FILE),
    ("anchor-submit", "post"): E("registration:write", OWN, ANCHOR_FILE),
    ("agency-list", "get"): E("registration:read", OWN, AGENCY_FILE),
    ("agency-list", "post"): E("registration:write", REFUSED),
    ("agency-detail", "get"): E("registration:read", OWN, AGENCY_FILE),
    ("agency-detail", "patch"): E("registration:write", OWN, AGENCY_FILE),
    ("agency-documents", "post"): E("registration:write", OWN, AGENCY_FILE),
    ("agency-submit", "post"): E("registration:write", OWN, AGENCY_FILE),
    ("product-list", "get"): E("products:read", OWN, PRODUCT),
    ("product-list", "post"): E("products:write"),
    ("product-detail", "get"): E("products:read", OWN, PRODUCT),
    ("complaint-list", "get"): E("complaints:read", OWN, CASE),
    # A complaint is the consumer's: a party's key neither files nor changes one.
    ("complaint-list", "post"): E("complaints:write", REFUSED),
    ("complaint-detail", "get"): E("complaints:read", OWN, CASE),
    ("complaint-evidence", "post"): E("complaints:write", REFUSED, FORWARDED_CASE),
    ("complaint-information", "post"): E("complaints:write", REFUSED, FORWARDED_CASE),
    ("complaint-withdraw", "post"): E("complaints:write", REFUSED, FORWARDED_CASE),
    ("evaluation-list", "get"): E("evaluations:read", OWN, EVALUATION),
    ("evaluation-list", "post"): E("evaluations:write", REFUSED),
    ("evaluation-detail", "get"): E("evaluations:read", OWN, EVALUATION),
    # The platform vouches for an order; the party evaluated never does.
    ("evaluation-order-check", "post"): E("evaluations:write", REFUSED, EVALUATION),
    ("violation-list", "get"): E("enforcement:read", OWN, VIOLATION),
    ("violation-detail", "get"): E("enforcement:read", OWN, VIOLATION),
    ("measure-list", "get"): E("enforcement:read", OWN, MEASURE),
    ("measure-detail", "get"): E("enforcement:read", OWN, MEASURE),
    ("measure-statement", "get"): E("enforcement:read", OWN, MEASURE),
    ("measure-statement-dsa", "get"): E("enforcement:read", OWN, MEASURE),
    # A party appeals its own measures; the platform's key appeals for any party.
    ("measure-appeal", "post"): E("appeals:write", OWN, MEASURE),
    ("appeal-list", "get"): E("appeals:read", OWN, APPEAL),
    ("appeal-detail", "get"): E("appeals:read", OWN, APPEAL),
    ("deposit-account-list", "get"): E("deposits:read", OWN, DEPOSIT),
    ("deposit-account-detail", "get"): E("deposits:read", OWN, DEPOSIT),
    ("deposit-account-entries", "get"): E("deposits:read", OWN, DEPOSIT),
    # Only the platform's payment system reports money paid in.
    ("deposit-account-top-ups", "post"): E("deposits:write", REFUSED, DEPOSIT),
    # The consortium's feed is for other platforms, with a key of its own scope.
    ("credit-feed", "get"): E("credit:feed", ANY),
    ("credit-feed-key", "get"): E(PUBLIC, ANY),
    ("public-credit-party-list", "get"): E(PUBLIC, ANY),
    ("public-credit-party-detail", "get"): E(PUBLIC, ANY, PARTY),
    ("public-credit-rules", "get"): E(PUBLIC, ANY),
    ("public-credit-rule-set", "get"): E(PUBLIC, ANY),
}
