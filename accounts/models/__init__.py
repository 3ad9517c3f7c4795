"""The models of the lowest layer: the party registry and access (registry.py), and the
registration files every merchant, anchor and agency is audited through (files.py)."""

from accounts.models.files import (
    ChangeReason,
    DocumentKind,
    DocumentReview,
    FileDocument,
    FileEvent,
    FileStatus,
    FileVersion,
    RegistrationFile,
)
from accounts.models.registry import (
    ApiKey,
    EventRow,
    Party,
    PartyEvent,
    PartyKind,
    Restriction,
    RestrictionKind,
    RestrictionQuerySet,
    User,
    WebhookDelivery,
    WebhookEndpoint,
)

__all__ = [
    "ApiKey",
    "ChangeReason",
    "DocumentKind",
    "DocumentReview",
    "EventRow",
    "FileDocument",
    "FileEvent",
    "FileStatus",
    "FileVersion",
    "Party",
    "PartyEvent",
    "PartyKind",
    "RegistrationFile",
    "Restriction",
    "RestrictionKind",
    "RestrictionQuerySet",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
]
