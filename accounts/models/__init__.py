"""The models of the lowest layer: the party registry and access (registry.py), the
registration files every merchant, anchor and agency is audited through (files.py), and the
working-day calendar legal deadlines are counted on (calendar.py)."""

from accounts.models.calendar import CalendarDay, CalendarDayKind, CalendarYear
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
    "CalendarDay",
    "CalendarDayKind",
    "CalendarYear",
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
