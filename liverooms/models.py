"""Live rooms, their sessions, what is shown in them, and how they are watched.

RULES.md §3: personnel inspection (patrol) plus background (technical) monitoring, rooms graded by
risk (LCM Arts. 11, 13, 20), anchors' identity reported before every stream (LCM Art. 28), a
pre-stream review of scripts and sets (LCM Art. 30), platform identification of content and the
continuous label on AI-generated presenters (LCM Art. 37).
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import EventRow, Party
from merchants.models import Category, Product


class RiskGrade(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")  # real-time patrol and technical monitoring (LCM Art. 13)


class LiveRoom(models.Model):
    owner = models.ForeignKey(
        Party, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="live_rooms"
    )
    platform_ref = models.CharField(_("platform room id"), max_length=64, unique=True)
    title = models.CharField(_("title"), max_length=200)
    category = models.CharField(_("category"), max_length=32, choices=Category.choices)
    followers = models.PositiveIntegerField(_("followers"), default=0)
    monthly_sales_fen = models.PositiveBigIntegerField(
        _("sales in the last 30 days (fen)"), default=0
    )
    risk_grade = models.CharField(
        _("risk grade"),
        max_length=8,
        choices=RiskGrade.choices,
        default=RiskGrade.LOW,
        editable=False,
    )
    risk_score = models.PositiveSmallIntegerField(_("risk score"), default=0, editable=False)
    risk_reasons = models.JSONField(_("risk reasons"), default=list, editable=False)
    risk_graded_at = models.DateTimeField(
        _("risk graded at"), null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("live room")
        verbose_name_plural = _("live rooms")
        ordering = ["-risk_score", "id"]

    def __str__(self) -> str:
        return self.title


class RoomEvent(EventRow):
    """The room's timeline: registered, changed hands, moved to another category. Who answers
    for a room, and which category's thresholds its go-lives meet, are decisions the platform
    makes through the API; each is kept with its actor and the values before and after."""

    class Kind(models.TextChoices):
        REGISTERED = "registered", _("Registered")
        CHANGED_HANDS = "changed_hands", _("Changed hands")
        RECATEGORISED = "recategorised", _("Category changed")

    room = models.ForeignKey(
        LiveRoom, verbose_name=_("live room"), on_delete=models.PROTECT, related_name="events"
    )
    kind = models.CharField(_("event"), max_length=16, choices=Kind.choices)

    class Meta(EventRow.Meta):
        verbose_name = _("room event")
        verbose_name_plural = _("room events")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} @ {timezone.localtime(self.at):%Y-%m-%d %H:%M}"


class SessionStatus(models.TextChoices):
    LIVE = "live", _("On air")
    ENDED = "ended", _("Ended")


class LiveSession(models.Model):
    room = models.ForeignKey(
        LiveRoom, verbose_name=_("live room"), on_delete=models.PROTECT, related_name="sessions"
    )
    # The room's owner when the session went live: who answers for it. A room changes hands
    # with its account; its past sessions, their alerts, complaints and violations stay with
    # the operator who ran them, not the room's later owner.
    owner = models.ForeignKey(
        Party,
        verbose_name=_("operator"),
        on_delete=models.PROTECT,
        related_name="sessions_run",
        editable=False,
        # session_owner_idx, (owner, started_at), serves look-ups by owner.
        db_index=False,
    )
    status = models.CharField(
        _("status"),
        max_length=8,
        choices=SessionStatus.choices,
        default=SessionStatus.LIVE,
        editable=False,
    )
    started_at = models.DateTimeField(_("started at"), default=timezone.now, editable=False)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True, editable=False)
    # LCM Art. 37: AI-generated people, images or video are labelled for the whole stream.
    ai_generated = models.BooleanField(_("AI-generated content labelled"), default=False)
    # The platform's identification of this stream's content (Zhejiang standard).
    content_label = models.UUIDField(_("content label"), default=uuid.uuid4, unique=True)
    # LCM Art. 30: what was reviewed before the stream (scripts, set, products ...).
    pre_stream_checklist = models.JSONField(_("pre-stream review"), default=dict)
    ended_reason = models.CharField(_("why it ended"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("live session")
        verbose_name_plural = _("live sessions")
        ordering = ["-started_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=SessionStatus.values), name="session_status_valid"
            ),
            # A room streams once at a time.
            models.UniqueConstraint(
                fields=["room"], condition=Q(status="live"), name="one_live_session_per_room"
            ),
        ]
        indexes = [
            # The patrol queue and "is this party on air" (live.terminate).
            models.Index(
                fields=["started_at"], condition=Q(status="live"), name="session_on_air_idx"
            ),
            # A party's own sessions, newest first (the API for a key bound to it).
            models.Index(fields=["owner", "started_at"], name="session_owner_idx"),
            # The coverage report: sessions that ended during the shift. Partial, so a session
            # going live (no end yet) writes nothing to it.
            models.Index(
                fields=["ended_at"],
                condition=Q(ended_at__isnull=False),
                name="session_ended_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.room} @ {timezone.localtime(self.started_at):%Y-%m-%d %H:%M}"


class SessionAnchor(models.Model):
    """An anchor on air in a session, with the identity reported for it (LCM Art. 28)."""

    # No index of its own: session_anchor_once, (session, anchor), serves look-ups by session,
    # and a go-live writes one index entry fewer per anchor.
    session = models.ForeignKey(
        LiveSession, on_delete=models.CASCADE, related_name="anchors", db_index=False
    )
    anchor = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="sessions_on_air")
    name = models.CharField(_("name"), max_length=200)
    id_number_masked = models.CharField(_("ID number"), max_length=18, blank=True)
    identity_hash = models.CharField(max_length=64)
    is_ai_presenter = models.BooleanField(_("AI presenter"), default=False)

    class Meta:
        verbose_name = _("anchor on air")
        verbose_name_plural = _("anchors on air")
        constraints = [
            models.UniqueConstraint(fields=["session", "anchor"], name="session_anchor_once"),
        ]

    def __str__(self) -> str:
        return self.name


class SessionProduct(models.Model):
    # As SessionAnchor.session: session_product_once serves look-ups by session.
    session = models.ForeignKey(
        LiveSession, on_delete=models.CASCADE, related_name="products", db_index=False
    )
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="+"
    )
    merchant = models.ForeignKey(
        Party,
        verbose_name=_("merchant"),
        on_delete=models.PROTECT,
        related_name="sessions_selling",
    )

    class Meta:
        verbose_name = _("product shown")
        verbose_name_plural = _("products shown")
        constraints = [
            models.UniqueConstraint(fields=["session", "product"], name="session_product_once"),
        ]

    def __str__(self) -> str:
        return str(self.product)


class GoLiveRefusal(models.Model):
    """A refused go-live, with every reason: the record of what the gate stopped."""

    room = models.ForeignKey(
        LiveRoom, verbose_name=_("live room"), on_delete=models.PROTECT, related_name="refusals"
    )
    at = models.DateTimeField(_("refused at"), default=timezone.now, db_index=True)
    reasons = models.JSONField(_("reasons"))
    requested = models.JSONField(_("request"), default=dict)

    class Meta:
        verbose_name = _("refused go-live")
        verbose_name_plural = _("refused go-lives")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.room} @ {timezone.localtime(self.at):%Y-%m-%d %H:%M}"


# The rule pack's categories (RULES.md §3) as the pages name them; each rule carries its own legal
# basis. A rule's category is data, so one written in the admin that is not here is shown as
# written.
RULE_CATEGORIES = {
    "absolute_terms": _("absolute terms"),
    "offline_transaction": _("lures to trade off the platform"),
    "fake_reviews": _("fake sales or reviews"),
    "fake_traffic": _("fake traffic"),
    "prohibited_goods": _("prohibited and restricted goods"),
    "medical_claims": _("medical claims"),
    "tobacco": _("tobacco and e-cigarettes"),
    "pricing": _("price claims"),
    "ai_presenter": _("unlabelled AI presenters"),
}


class RuleStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")  # being written and tried against sample text
    PUBLISHED = "published", _("Published")  # in force: the engine evaluates it
    RETIRED = "retired", _("Retired")  # replaced by a newer version or withdrawn


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


class MonitoringRule(models.Model):
    """A versioned monitoring rule. Rules are data: drafted, tried and published in the admin;
    a published version is never edited -- a change is a new version."""

    code = models.SlugField(_("code"), max_length=64)
    version = models.PositiveIntegerField(_("version"), default=1)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=RuleStatus.choices,
        default=RuleStatus.DRAFT,
        editable=False,
    )
    category = models.CharField(_("category"), max_length=64)
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices)
    kind = models.CharField(
        _("kind"),
        max_length=8,
        choices=[
            ("keyword", _("Keywords")),
            ("pattern", _("Pattern")),
            ("price", _("Price")),
            ("session", _("Whole session")),
        ],
    )
    keywords = models.JSONField(_("keywords"), default=list, blank=True)
    aliases = models.JSONField(_("aliases"), default=list, blank=True)
    match_pinyin = models.BooleanField(_("match homophones (pinyin)"), default=False)
    pattern = models.TextField(_("regular expression"), blank=True)
    exclude = models.JSONField(_("exclusion phrases"), default=list, blank=True)
    signal_kinds = models.JSONField(_("applies to"), default=list)
    legal_basis = models.CharField(_("legal basis"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True, editable=False)
    published_by = models.CharField(max_length=150, blank=True, editable=False)

    class Meta:
        verbose_name = _("monitoring rule")
        verbose_name_plural = _("monitoring rules")
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="rule_version_unique"),
            models.UniqueConstraint(
                fields=["code"], condition=Q(status="published"), name="one_published_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} v{self.version}"


class SignalBatch(models.Model):
    """A batch of monitoring signals as it was received (POST .../signals/).

    A platform that sends a batch again, after a timeout or a lost answer, gets the alerts of the
    first time instead of a second set: the batch is known by its digest. And each feed (speech to
    text, chat, listing updates) is sent in order: `clock` holds, per signal kind, the stream
    time of the last signal accepted so far in the session, so that a signal older than that is
    refused instead of raising alerts out of their time."""

    # Indexed by the constraint and the index below, which both lead with it.
    session = models.ForeignKey(
        LiveSession, on_delete=models.PROTECT, related_name="signal_batches", db_index=False
    )
    # sha256 of the batch's signals as validated (services.signals_ingest).
    digest = models.CharField(max_length=64, editable=False)
    received_at = models.DateTimeField(_("received at"), default=timezone.now, editable=False)
    signals = models.PositiveIntegerField(_("signals"), editable=False)
    first_at = models.DateTimeField(_("first signal at"), editable=False)
    last_at = models.DateTimeField(_("last signal at"), editable=False)
    # {kind: ISO time} of the last signal of each kind accepted in the session, this batch's
    # included.
    clock = models.JSONField(default=dict, editable=False)

    class Meta:
        verbose_name = _("signal batch")
        verbose_name_plural = _("signal batches")
        constraints = [
            models.UniqueConstraint(fields=["session", "digest"], name="signal_batch_once"),
        ]
        indexes = [
            # The session's latest batch, whose clock the next batch is checked against.
            models.Index(fields=["session", "id"], name="signal_batch_latest_idx"),
        ]

    def __str__(self) -> str:
        received = timezone.localtime(self.received_at)
        return f"{self.session_id}: {self.signals} @ {received:%Y-%m-%d %H:%M:%S}"


class SignalKind(models.TextChoices):
    """What the engine reads (``monitoring.engine.SIGNAL_KINDS``)."""

    TRANSCRIPT = "transcript", _("speech")  # speech-to-text of the stream
    CHAT = "chat", _("chat")  # comments and the room's pinned text
    LISTING = "listing", _("listing title")  # a product's title and prices


class AlertStatus(models.TextChoices):
    OPEN = "open", _("Open")  # waiting for a reviewer
    CONFIRMED = "confirmed", _("Confirmed")  # a real violation: counts for the rule's precision
    DISMISSED = "dismissed", _("Dismissed")  # a false alarm: counts against it


class Alert(models.Model):
    session = models.ForeignKey(
        LiveSession, verbose_name=_("live session"), on_delete=models.PROTECT, related_name="alerts"
    )
    rule = models.ForeignKey(
        MonitoringRule,
        verbose_name=_("monitoring rule"),
        on_delete=models.PROTECT,
        related_name="alerts",
    )
    # The batch of signals that raised it; none for alerts raised before batches were kept.
    batch = models.ForeignKey(
        SignalBatch,
        verbose_name=_("signal batch"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="alerts",
        editable=False,
    )
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices)
    signal_kind = models.CharField(_("signal"), max_length=16, choices=SignalKind.choices)
    excerpt = models.TextField(_("excerpt"))
    start = models.PositiveIntegerField(_("start offset"))
    end = models.PositiveIntegerField(_("end offset"))
    stream_at = models.DateTimeField(_("stream time"))
    raised_at = models.DateTimeField(_("raised at"), default=timezone.now, editable=False)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=AlertStatus.choices,
        default=AlertStatus.OPEN,
        editable=False,
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=pgettext_lazy("person", "decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True, editable=False)
    note = models.TextField(_("note"), blank=True, editable=False)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=AlertStatus.values), name="alert_status_valid"
            ),
        ]
        indexes = [
            # Open alerts of the sessions on the patrol queue.
            models.Index(fields=["session", "status"], name="alert_session_status_idx"),
            models.Index(fields=["rule", "status"], name="alert_rule_status_idx"),
            # The admin's change list, newest first by default: read backwards, no sort of
            # millions of alerts for each page.
            models.Index(fields=["raised_at", "id"], name="alert_raised_idx"),
            # The open alerts, newest first: the count of the workbench's queue on every view
            # of its index, and the change list that the queue opens. Small, as alerts are
            # decided within the shift.
            models.Index(
                fields=["raised_at", "id"],
                name="alert_open_idx",
                condition=models.Q(status="open"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule} @ {timezone.localtime(self.raised_at):%Y-%m-%d %H:%M:%S}"


class InspectionResult(models.TextChoices):
    NO_ISSUE = "no_issue", _("No issue")
    CORRECTION_REQUESTED = "correction_requested", _("On-air correction requested")  # LCM Art. 31
    VIOLATION_SUSPECTED = "violation_suspected", _("Violation suspected")


class Inspection(models.Model):
    """A reviewer's patrol of a session (personnel inspection, Zhejiang standard)."""

    session = models.ForeignKey(
        LiveSession,
        verbose_name=_("live session"),
        on_delete=models.PROTECT,
        related_name="inspections",
    )
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("inspector"),
        on_delete=models.PROTECT,
        related_name="inspections",
    )
    at = models.DateTimeField(_("inspected at"), default=timezone.now, editable=False)
    checklist = models.JSONField(_("checklist"), default=dict)
    findings = models.TextField(_("findings"), blank=True)
    screenshot = models.CharField(_("screenshot"), max_length=200, blank=True, editable=False)
    result = models.CharField(_("result"), max_length=24, choices=InspectionResult.choices)

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        ordering = ["-at"]
        indexes = [models.Index(fields=["inspector", "at"], name="inspection_load_idx")]

    def __str__(self) -> str:
        return f"{self.session} · {self.get_result_display()}"


class ClipKind(models.TextChoices):
    VIDEO = "video", _("Video")
    GRAPHIC = "graphic", _("Image or text")
    AUDIO = "audio", _("Audio")


class ContentLabel(models.Model):
    """The platform's identification of a clip cut from a session (Zhejiang standard), and
    whether it carries the AI-generated label (LCM Art. 37)."""

    session = models.ForeignKey(LiveSession, on_delete=models.PROTECT, related_name="clips")
    kind = models.CharField(_("kind"), max_length=8, choices=ClipKind.choices)
    identifier = models.UUIDField(_("content label"), default=uuid.uuid4, unique=True)
    platform_ref = models.CharField(_("platform clip id"), max_length=64)
    ai_generated = models.BooleanField(_("AI-generated"), default=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("clip label")
        verbose_name_plural = _("clip labels")
        constraints = [
            models.UniqueConstraint(fields=["session", "platform_ref"], name="clip_once"),
        ]

    def __str__(self) -> str:
        return str(self.identifier)
