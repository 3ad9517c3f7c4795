"""Rows for every model registered on the workbench, built fast enough to render each change list
with a short and a long page.

The demo (`seed_demo`, built through the real services) gives most models their first rows; a
builder adds more by copying the richest existing row (the one with the most relations set, so
that a column reading a relation shows up as one query per row if it is not joined) and giving
each copy fresh values for what must be unique. Models the demo leaves empty get a first row
written here. Each model registered on the admin site must have an entry in BUILDERS: a new admin
without one fails the query-count guard rather than escaping it.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import date, timedelta

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import (
    ApiKey,
    CalendarYear,
    Party,
    RegistrationFile,
    Restriction,
    User,
    WebhookDelivery,
    WebhookEndpoint,
)
from anchors.models import AgencyMembership, TrainingRecord
from complaints.models import Case, Evaluation, ReplyTemplate, ReporterReputation, ReviewerCapacity
from credit.models import (
    CreditEvent,
    CreditScore,
    Dispute,
    FeedEntry,
    Job,
    Peer,
    PeerRecord,
    RuleSet,
    SanctionEntry,
    ScoreChange,
)
from enforcement.models import (
    Appeal,
    Authority,
    DepositAccount,
    DepositRequirement,
    Measure,
    Notification,
    Reconciliation,
    Referral,
    Violation,
    ViolationType,
)
from liverooms.models import (
    Alert,
    GoLiveRefusal,
    LiveRoom,
    LiveSession,
    MonitoringRule,
)
from merchants.models import Category, Licence

_serial = itertools.count(1)


def _richest(model) -> models.Model:
    """The existing row with the most relations set, among the latest few."""
    relations = [f for f in model._meta.concrete_fields if f.is_relation and not f.primary_key]
    candidates = list(model._default_manager.order_by("-pk")[:50])
    assert candidates, f"no {model._meta.label} to copy: its builder must write a first row"
    return max(
        candidates, key=lambda row: sum(getattr(row, f.attname) is not None for f in relations)
    )


def _fresh(field: models.Field, value, n: int):
    """A value for `field` that no other row has, in the shape of `value`."""
    if isinstance(field, models.UUIDField):
        return uuid.uuid4()
    if isinstance(field, (models.IntegerField, models.BigIntegerField)):
        return 1_000_000 + n
    if isinstance(field, (models.CharField, models.TextField)):
        suffix = f"~{n}"
        limit = getattr(field, "max_length", None) or 200
        return f"{(value or 'x')[: limit - len(suffix)]}{suffix}"
    raise AssertionError(f"say how to vary {field} for a copy")


def _unique_fields(model) -> set[str]:
    """Fields to vary so that copies respect the unique columns and unique constraints: per
    constraint, its first field that is not a relation and has no fixed choices."""
    names = {
        f.name
        for f in model._meta.concrete_fields
        if f.unique and not f.primary_key and not f.is_relation
    }
    together = [getattr(c, "fields", ()) or () for c in model._meta.constraints]
    together += list(model._meta.unique_together)
    for fields in together:
        for name in fields:
            field = model._meta.get_field(name)
            if not field.is_relation and not field.choices:
                names.add(name)
                break
    return names


def copies(model, n: int, **vary: Callable[[int], object]) -> list[models.Model]:
    """`n` copies of the richest row of `model`; `vary` gives per-copy values by field name."""
    template = _richest(model)
    auto = _unique_fields(model) - set(vary)
    rows = []
    for _ in range(n):
        i = next(_serial)
        values = {
            f.attname: getattr(template, f.attname)
            for f in model._meta.concrete_fields
            if not isinstance(f, models.AutoField)
        }
        for name in auto:
            field = model._meta.get_field(name)
            values[field.attname] = _fresh(field, values[field.attname], i)
        for name, make in vary.items():
            values[model._meta.get_field(name).attname] = make(i)
        rows.append(model(**values))
    return model._default_manager.bulk_create(rows)


def first(model, **fields) -> None:
    """Write a first row for a model the demo leaves empty."""
    if not model._default_manager.exists():
        model._default_manager.create(**fields)


# --- Related rows that copies need fresh ones of -------------------------------------------------


def new_parties(n: int) -> list[int]:
    return [party.pk for party in copies(Party, n)]


def new_users(n: int) -> list[int]:
    return [user.pk for user in copies(User, n, is_superuser=lambda i: False)]


def _one_each(make_ids: Callable[[int], list[int]], n: int) -> Callable[[int], int]:
    """A `vary` function handing out fresh related ids, one per copy."""
    ids = iter(make_ids(n))
    return lambda i: next(ids)


def _any(model) -> models.Model:
    return model._default_manager.order_by("pk").first()


# --- Builders for models the demo leaves empty ---------------------------------------------------


def _webhook_endpoint():
    first(WebhookEndpoint, name="hook", url="https://hooks.example.com/", secret="s", topics=[])


def _webhook_delivery():
    _webhook_endpoint()
    first(
        WebhookDelivery,
        endpoint=_any(WebhookEndpoint),
        topic="case.decided",
        payload={},
        last_error="",
    )


def _log_entry():
    first(
        LogEntry,
        user=_any(User),
        content_type=ContentType.objects.get_for_model(Party),
        object_id=str(_any(Party).pk),
        object_repr="主体",
        action_flag=ADDITION,
        change_message="[]",
    )


def _axes(model, **extra):
    first(
        model,
        user_agent="pytest",
        ip_address="127.0.0.1",
        username="someone",
        http_accept="*/*",
        path_info="/admin/login/",
        **extra,
    )


def _feed_entry():
    first(
        FeedEntry,
        kind=FeedEntry._meta.get_field("kind").choices[0][0],
        consortium_hash="h" * 64,
        party=_any(Party),
        source="measure:1",
        valid_from=date(2026, 1, 1),
    )


def _peer():
    first(Peer, name="兄弟平台", feed_url="https://peer.example.com/feed", public_key="k")


def _peer_record():
    _peer()
    first(
        PeerRecord,
        peer=_any(Peer),
        remote_seq=1,
        kind=PeerRecord._meta.get_field("kind").choices[0][0],
        consortium_hash="h" * 64,
        valid_from=date(2026, 1, 1),
        party=_any(Party),
        payload={},
    )


def _dispute():
    _feed_entry()
    first(Dispute, party=_any(Party), feed_entry=_any(FeedEntry), grounds="并非本人。")


def _credit_score():
    if not CreditScore.objects.exists():
        CreditScore.objects.create(party=_any(Party), score=1000, grade="A", rule_set=_any(RuleSet))


def _score_change():
    first(ScoreChange, party=_any(Party), score=990, grade="A", rule_set=_any(RuleSet), cause="x")


def _referral():
    first(Referral, measure=_any(Measure), authority=_any(Authority))


def _deposit_requirements(n: int) -> None:
    """One requirement per category: the table cannot grow past the categories."""
    taken = set(DepositRequirement.objects.values_list("category", flat=True))
    free = [value for value, _label in Category.choices if value not in taken]
    for category in free[:n]:
        copies(DepositRequirement, 1, category=lambda i, c=category: c)


def _build(prepare: Callable[[], None] | None, model, **vary) -> Callable[[int], None]:
    def build(n: int) -> None:
        if prepare is not None:
            prepare()
        copies(
            model, n, **{name: make(n) if _needs_n(make) else make for name, make in vary.items()}
        )

    return build


def _needs_n(make) -> bool:
    return getattr(make, "per_build", False)


def fresh(make_ids: Callable[[int], list[int]]):
    """A `vary` entry giving each copy of a build a related row of its own."""

    def per_build(n: int):
        return _one_each(make_ids, n)

    per_build.per_build = True
    return per_build


def _ended(i: int):
    return timezone.now() - timedelta(days=1, minutes=i)


BUILDERS: dict[str, Callable[[int], None]] = {
    "accounts.ApiKey": _build(None, ApiKey, party=lambda i: None),
    "accounts.CalendarYear": _build(None, CalendarYear, year=lambda i: 2100 + i),
    "accounts.Party": _build(None, Party),
    "accounts.RegistrationFile": _build(None, RegistrationFile, party=fresh(new_parties)),
    "accounts.Restriction": _build(None, Restriction),
    "accounts.User": _build(None, User, is_superuser=lambda i: False),
    "accounts.WebhookDelivery": _build(_webhook_delivery, WebhookDelivery),
    "accounts.WebhookEndpoint": _build(_webhook_endpoint, WebhookEndpoint),
    "admin.LogEntry": _build(_log_entry, LogEntry),
    # Ended memberships: only the current one per anchor is unique.
    "anchors.AgencyMembership": _build(None, AgencyMembership, ended_at=_ended),
    "anchors.TrainingRecord": _build(None, TrainingRecord),
    "auth.Group": _build(None, Group),
    "axes.AccessAttempt": _build(
        lambda: _axes(AccessAttempt, get_data="", post_data="", failures_since_start=1),
        AccessAttempt,
    ),
    "axes.AccessFailureLog": _build(lambda: _axes(AccessFailureLog), AccessFailureLog),
    "axes.AccessLog": _build(lambda: _axes(AccessLog), AccessLog),
    "complaints.Case": _build(None, Case),
    "complaints.Evaluation": _build(None, Evaluation),
    "complaints.ReplyTemplate": _build(None, ReplyTemplate),
    "complaints.ReporterReputation": _build(None, ReporterReputation),
    "complaints.ReviewerCapacity": _build(None, ReviewerCapacity, user=fresh(new_users)),
    "credit.CreditEvent": _build(None, CreditEvent, reverses=lambda i: None),
    "credit.CreditScore": _build(_credit_score, CreditScore, party=fresh(new_parties)),
    "credit.Dispute": _build(_dispute, Dispute),
    "credit.FeedEntry": _build(_feed_entry, FeedEntry, revokes=lambda i: None),
    "credit.Job": _build(lambda: first(Job, kind="recompute_all", started_by="tests"), Job),
    "credit.Peer": _build(_peer, Peer),
    "credit.PeerRecord": _build(_peer_record, PeerRecord),
    "credit.RuleSet": _build(None, RuleSet),
    "credit.SanctionEntry": _build(None, SanctionEntry),
    "credit.ScoreChange": _build(_score_change, ScoreChange),
    "enforcement.Appeal": _build(
        None,
        Appeal,
        measure=fresh(lambda n: [m.pk for m in copies(Measure, n, status=lambda i: "rejected")]),
    ),
    "enforcement.Authority": _build(None, Authority),
    "enforcement.DepositAccount": _build(None, DepositAccount, party=fresh(new_parties)),
    "enforcement.DepositRequirement": _deposit_requirements,
    # Rejected proposals: only one live measure of a kind per violation is unique.
    "enforcement.Measure": _build(None, Measure, status=lambda i: "rejected"),
    # One notification per event: each copy is about another object.
    "enforcement.Notification": _build(
        lambda: first(Notification, kind="approval_requested", object_id=1),
        Notification,
        object_id=lambda i: 1_000_000 + i,
    ),
    "enforcement.Reconciliation": _build(
        lambda: first(Reconciliation, accounts_checked=3, mismatches=[]), Reconciliation
    ),
    "enforcement.Referral": _build(
        _referral, Referral, authority=fresh(lambda n: [a.pk for a in copies(Authority, n)])
    ),
    "enforcement.Violation": _build(
        None, Violation, case=lambda i: None, inspection=lambda i: None
    ),
    "enforcement.ViolationType": _build(None, ViolationType),
    "liverooms.Alert": _build(None, Alert),
    "liverooms.GoLiveRefusal": _build(None, GoLiveRefusal),
    "liverooms.LiveRoom": _build(None, LiveRoom),
    # Ended sessions: only one live session per room is unique.
    "liverooms.LiveSession": _build(
        None,
        LiveSession,
        status=lambda i: "ended",
        ended_at=_ended,
    ),
    "liverooms.MonitoringRule": _build(None, MonitoringRule),
    "merchants.Licence": _build(None, Licence),
    "otp_totp.TOTPDevice": _build(None, TOTPDevice),
}
