"""Complaints, reports and evaluations from consumers (RULES.md §4).

A `Case` is a consumer's complaint (a dispute about a purchase: SAMR complaint rules Art. 9) or a
report (a violation seen in a live room). Both run the same clocks in Chinese working days and go
through the same reviewer workbench. Evaluations are separate: they are not handled, only kept,
and the party evaluated can never change them (ECL Art. 39).

Contact details are personal information: stored encrypted, found through a keyed hash, shown
masked (RULES.md §8).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Replace, Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import EventRow


class CaseKind(models.TextChoices):
    COMPLAINT = "complaint", _("Complaint")
    REPORT = "report", _("Report")


class CaseStatus(models.TextChoices):
    # Filed; the acceptance decision is due within 7 working days (SAMR complaint rules Art. 15).
    NEW = "new", _("New")
    ACCEPTED = "accepted", _("Accepted, in handling")
    # The clocks stop while the consumer owes information or an appraisal is under way.
    AWAITING_CONSUMER = "awaiting_consumer", _("Waiting for the consumer")
    AWAITING_APPRAISAL = "awaiting_appraisal", _("Waiting for an appraisal")
    NOT_ACCEPTED = "not_accepted", _("Not accepted")
    DECIDED = "decided", _("Decided")
    # The consumer confirmed the resolution (or the confirmation window passed).
    CLOSED = "closed", _("Closed")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    MERGED = "merged", _("Merged into another case")


# Statuses in which the case is still being worked and its clocks matter.
OPEN_STATUSES = (
    CaseStatus.NEW,
    CaseStatus.ACCEPTED,
    CaseStatus.AWAITING_CONSUMER,
    CaseStatus.AWAITING_APPRAISAL,
)
PAUSED_STATUSES = (CaseStatus.AWAITING_CONSUMER, CaseStatus.AWAITING_APPRAISAL)


class Outcome(models.TextChoices):
    REFUND = "refund", _("Resolved with a refund")
    COMPENSATION = "compensation", _("Resolved with compensation")
    RESOLVED_OTHER = "resolved_other", _("Resolved otherwise (return, exchange, explanation)")
    UNFOUNDED = "unfounded", _("Unfounded")
    VIOLATION_CONFIRMED = "violation_confirmed", _("Violation confirmed")
    # Mediation failed or the matter is outside the platform's reach: the consumer is pointed
    # to the market regulator's 12315 channel.
    REFERRED_12315 = "referred_12315", _("Referred to 12315")


class ComplaintCategory(models.TextChoices):
    QUALITY = "quality", _("Product quality or safety")
    FALSE_ADVERTISING = "false_advertising", _("False or misleading promotion")
    AFTER_SALES = "after_sales", _("Refund, return or after-sales refused")
    DELIVERY = "delivery", _("Delivery or logistics")
    PRICE = "price", _("Price or discount not honoured")
    PERSONAL_INFO = "personal_info", _("Misuse of personal information")
    OTHER = "other", _("Other")


class ConsumerRequest(models.TextChoices):
    REFUND = "refund", _("Refund")
    RETURN = "return", _("Return or exchange")
    COMPENSATION = "compensation", _("Compensation")
    OTHER = "other", _("Other")


class ReportCategory(models.TextChoices):
    """The negative-behaviour catalogue for live rooms (RULES.md §3; LCM Art. 18)."""

    FALSE_ADVERTISING = "false_advertising", _("False advertising or absolute terms")
    OFFLINE_TRANSACTION = "offline_transaction", _("Luring buyers to pay outside the platform")
    FAKE_SALES = "fake_sales", _("Fake sales figures or reviews")
    PROHIBITED_PRODUCT = "prohibited_product", _("Prohibited or restricted products")
    TOBACCO = "tobacco", _("Tobacco or e-cigarette promotion")
    UNLABELLED_AI = "unlabelled_ai", _("AI-generated presenter without a label")
    VULGAR_CONTENT = "vulgar_content", _("Vulgar, violent or harmful content")
    MINORS = "minors", _("Minors on air or targeted")
    OTHER = "other", _("Other violation")


class Source(models.TextChoices):
    WEB = "web", _("Public web form")
    API = "api", _("Forwarded by the platform")


def running_clock_due() -> models.Case:
    """The day the case's running clock ends: acceptance while new, resolution while in
    handling; NULL when no clock runs (paused, decided, closed). The overdue and due-today
    queues compare this one expression, which an index of its own serves -- and whose own
    statistics tell PostgreSQL how few cases it matches (from the columns' statistics the
    planner took a status and a due date for independent, expected hundreds of thousands of
    overdue cases among millions, and read them all)."""
    return models.Case(
        models.When(status=CaseStatus.NEW, then=F("acceptance_due")),
        models.When(status=CaseStatus.ACCEPTED, then=F("resolution_due")),
        output_field=models.DateField(),
    )


class Case(models.Model):
    kind = models.CharField(_("kind"), max_length=16, choices=CaseKind.choices)
    # Shown to the consumer and quoted on the phone; the secret link is what grants access.
    tracking_code = models.CharField(_("tracking code"), max_length=16, unique=True)
    # The private tracking link carries an HMAC of the code and this nonce under SECRET_KEY
    # (complaints.tracking): the worker can put the link in every e-mail, and the database alone
    # does not give it away.
    tracking_nonce = models.CharField(max_length=32, editable=False)
    status = models.CharField(
        _("status"), max_length=24, choices=CaseStatus.choices, default=CaseStatus.NEW
    )
    outcome = models.CharField(_("outcome"), max_length=24, choices=Outcome.choices, blank=True)
    outcome_note = models.TextField(_("outcome details"), blank=True)
    refund_fen = models.PositiveBigIntegerField(_("refund (fen)"), null=True, blank=True)
    compensation_fen = models.PositiveBigIntegerField(
        _("compensation (fen)"), null=True, blank=True
    )

    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    # The platform's id for a complaint forwarded from its app: forwarding twice stores it once.
    platform_ref = models.CharField(_("platform reference"), max_length=64, blank=True)
    # When the consumer filed it (on our form, or in the platform's app): the clocks start here.
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    language = models.CharField(_("language"), max_length=8, default="zh-hans")

    # Who and what it is about. Complaints name at least one; reports name the session.
    merchant = models.ForeignKey(
        "accounts.Party",
        verbose_name=_("merchant"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases_as_merchant",
    )
    anchor = models.ForeignKey(
        "accounts.Party",
        verbose_name=_("anchor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases_as_anchor",
    )
    session = models.ForeignKey(
        "liverooms.LiveSession",
        verbose_name=_("live session"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )

    # Complaint (SAMR complaint rules Art. 9: complainant, respondent, request, facts).
    order_number = models.CharField(_("order number"), max_length=64, blank=True)
    purchase = models.CharField(_("what was bought"), max_length=200, blank=True)
    category = models.CharField(
        _("category"), max_length=24, choices=ComplaintCategory.choices, blank=True
    )
    request = models.CharField(
        _("request"), max_length=16, choices=ConsumerRequest.choices, blank=True
    )
    request_detail = models.CharField(_("request details"), max_length=500, blank=True)
    # Report: what was seen, and when in the stream.
    report_category = models.CharField(
        _("violation"), max_length=24, choices=ReportCategory.choices, blank=True
    )
    stream_offset = models.DurationField(_("time in the stream"), null=True, blank=True)
    facts = models.TextField(_("facts"))

    # Contact (personal information): encrypted; `contact_key` is a keyed hash of the normalised
    # e-mail or phone, used for per-contact throttling, duplicates and reporter reputation.
    contact_name = models.CharField(_("name"), max_length=100, blank=True)
    contact_email_enc = models.TextField(blank=True, editable=False)
    contact_phone_enc = models.TextField(blank=True, editable=False)
    contact_key = models.CharField(max_length=64, blank=True, editable=False, db_index=True)

    # Clocks, in Chinese working days, stored as dates (shown to the consumer and the platform).
    acceptance_due = models.DateField(_("acceptance due"))
    resolution_due = models.DateField(_("resolution due"))
    mediation_due = models.DateField(_("mediation ends"), null=True, blank=True)
    # Some counted day lies beyond the published holiday calendar: to be checked by a lead, and
    # recomputed once staff enter the next year's schedule.
    deadline_estimated = models.BooleanField(_("deadline estimated"), default=False)
    # What the due dates are computed from, so that they can be computed again exactly: the
    # resolution target published when the case was filed, and the working days the clocks stood
    # still before and after acceptance (counted again from the pauses on the timeline whenever
    # the dues are, as the holiday calendar may have changed: services.deadlines).
    resolution_working_days = models.PositiveSmallIntegerField(
        _("resolution target (working days)"), editable=False
    )
    paused_days_before_acceptance = models.PositiveIntegerField(default=0, editable=False)
    paused_days_after_acceptance = models.PositiveIntegerField(default=0, editable=False)
    paused_at = models.DateTimeField(_("clock paused at"), null=True, blank=True, editable=False)
    # The status the case returns to when the clock restarts.
    paused_from = models.CharField(max_length=24, blank=True, editable=False)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True, editable=False)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, editable=False)
    # Set once when a clock is overdue and the case has gone to the lead's queue.
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True, editable=False)

    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_cases",
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_cases",
    )
    # Found at filing: the same contact about the same order or party recently.
    possible_duplicate_of = models.ForeignKey(
        "self",
        verbose_name=_("possible duplicate of"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    # The consumer's view of the handling, after the decision.
    consumer_confirmed_at = models.DateTimeField(
        _("resolution confirmed at"), null=True, blank=True, editable=False
    )
    handling_rating = models.PositiveSmallIntegerField(
        _("handling rating"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    handling_comment = models.TextField(_("comment on the handling"), blank=True)

    class Meta:
        verbose_name = _("complaint or report")
        verbose_name_plural = _("complaints and reports")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=CaseKind.values), name="case_kind_valid"),
            models.CheckConstraint(
                condition=Q(status__in=CaseStatus.values), name="case_status_valid"
            ),
            models.UniqueConstraint(
                fields=["source", "platform_ref"],
                condition=~Q(platform_ref=""),
                name="case_platform_ref_unique",
            ),
            models.CheckConstraint(
                condition=Q(handling_rating__isnull=True)
                | Q(handling_rating__gte=1, handling_rating__lte=5),
                name="case_rating_range",
            ),
        ]
        indexes = [
            # The workbench queues: open cases by due date, and per assignee.
            models.Index(fields=["status", "acceptance_due"], name="case_status_due_idx"),
            models.Index(fields=["status", "resolution_due"], name="case_status_resolution_idx"),
            # Searched by reviewers and used to spot duplicates.
            models.Index(fields=["order_number"], name="case_order_number_idx"),
            models.Index(fields=["assignee", "status"], name="case_assignee_idx"),
            # Concentrated complaints per party (room risk, duplicates).
            models.Index(fields=["merchant", "received_at"], name="case_merchant_idx"),
            models.Index(fields=["anchor", "received_at"], name="case_anchor_idx"),
            # The admin's change list, newest first by default: read backwards, no sort of
            # millions of cases for each page.
            models.Index(fields=["received_at", "id"], name="case_received_idx"),
            # The overdue and due-today queues, and the escalation sweep.
            models.Index(running_clock_due(), name="case_running_clock_idx"),
            # The queue of new cases, first come first served.
            models.Index(fields=["status", "received_at", "id"], name="case_status_received_idx"),
            # The mediation sweep and its queue: complaints in handling by the day mediation ends.
            # Partial, so it holds only the few cases whose mediation clock runs.
            models.Index(
                fields=["mediation_due"],
                condition=Q(kind=CaseKind.COMPLAINT, status=CaseStatus.ACCEPTED),
                name="case_mediation_running_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.tracking_code

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_paused(self) -> bool:
        return self.status in PAUSED_STATUSES


class Evidence(models.Model):
    """An evidence image, re-encoded without metadata (accounts.uploads), stored privately."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="evidence")
    file = models.CharField(_("stored file"), max_length=200, editable=False)
    sha256 = models.CharField(max_length=64, editable=False)
    content_type = models.CharField(max_length=32, editable=False)
    width = models.PositiveIntegerField(editable=False)
    height = models.PositiveIntegerField(editable=False)
    # "consumer", "api" or a staff user name.
    added_by = models.CharField(_("added by"), max_length=150, editable=False)
    added_at = models.DateTimeField(_("added at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("evidence image")
        verbose_name_plural = _("evidence images")
        ordering = ["added_at", "id"]
        constraints = [
            # The same picture twice on one case is stored once.
            models.UniqueConstraint(fields=["case", "sha256"], name="evidence_unique_per_case"),
        ]

    def __str__(self) -> str:
        return f"{self.case} #{self.pk}"


class CaseEvent(EventRow):
    """The case's timeline. Rows with `public=True` are what the consumer's tracking page shows."""

    class Kind(models.TextChoices):
        FILED = "filed", _("Filed")
        ASSIGNED = "assigned", _("Assigned")
        # "Accepted" alone is a reviewed document elsewhere (已接受); a case is 受理.
        ACCEPTED = "accepted", pgettext_lazy("complaint event", "Accepted")
        NOT_ACCEPTED = "not_accepted", _("Not accepted")
        INFO_REQUESTED = "info_requested", _("Information requested from the consumer")
        APPRAISAL_STARTED = "appraisal_started", _("Appraisal started")
        RESUMED = "resumed", _("Handling resumed")
        INFO_ADDED = "info_added", _("Consumer added information")
        EVIDENCE_ADDED = "evidence_added", _("Evidence added")
        NOTE = "note", _("Internal note")
        REPLY = "reply", _("Reply to the consumer")
        DECIDED = "decided", _("Decided")
        # The decision the mediation sweep takes when no agreement was reached within 45 working
        # days of acceptance (SAMR complaint rules Art. 21(5)); its own kind so that the consumer,
        # the platform and the respondent read it as the termination of mediation (Art. 21, last
        # paragraph), not as a reviewer's referral.
        MEDIATION_ENDED = "mediation_ended", _("Mediation ended without agreement")
        WITHDRAWN = "withdrawn", _("Withdrawn by the consumer")
        MERGED = "merged", _("Merged")
        CONFIRMED = "confirmed", _("Resolution confirmed by the consumer")
        RATED = "rated", _("Handling rated")
        ESCALATED = "escalated", _("Overdue: escalated to a lead")
        CLOSED = "closed", _("Closed: the confirmation period ended")
        DEADLINES_UPDATED = "deadlines_updated", _("Due dates updated to the holiday calendar")
        LINKED = "linked", _("Linked to a party or session")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("event"), max_length=24, choices=Kind.choices)
    # Status after the event, for the timeline and the webhook.
    status = models.CharField(_("status"), max_length=24, choices=CaseStatus.choices)
    public = models.BooleanField(_("shown to the consumer"), default=True)
    # Text the consumer reads (a reply, a reason); internal notes keep `public=False`.
    message = models.TextField(_("message"), blank=True)
    # The consumer is e-mailed about this event (status changes and replies). With the
    # Notification row it lets the relay find a notice whose message was lost.
    notify_consumer = models.BooleanField(default=False, editable=False)
    # Owed to a consumer who left an e-mail address and not yet delivered, by e-mail or, once
    # the e-mail failed, by a reviewer another way (services.notices). What the relay and the
    # reviewers' follow-up queue read, from an index of the few rows that are.
    notice_pending = models.BooleanField(default=False, db_default=False, editable=False)

    class Meta(EventRow.Meta):
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        indexes = [
            models.Index(
                fields=["at"],
                condition=models.Q(notice_pending=True),
                name="caseevent_notice_pending_idx",
            )
        ]


class Notification(models.Model):
    """An e-mail sent about a case event: the worker's record that makes sending idempotent."""

    # Who was told: the consumer by e-mail, the consumer another way (a reviewer's record, once
    # the e-mail failed), the leads; "nobody" and "seed_demo" mark notices not to send.
    CONSUMER = "consumer"
    CONSUMER_OTHERWISE = "consumer_otherwise"
    LEAD = "lead"

    event = models.OneToOneField(CaseEvent, on_delete=models.CASCADE, related_name="notification")
    recipient = models.CharField(_("recipient"), max_length=32, editable=False)
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")

    def __str__(self) -> str:
        return f"{self.recipient} {timezone.localtime(self.sent_at):%Y-%m-%d %H:%M}"


class ReplyTemplate(models.Model):
    """Standard replies reviewers pick from; both languages, sent in the consumer's."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("for"), max_length=16, choices=CaseKind.choices, blank=True)
    body_zh = models.TextField(_("text (Chinese)"))
    body_en = models.TextField(_("text (English)"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("reply template")
        verbose_name_plural = _("reply templates")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def body_for(self, language: str) -> str:
        return self.body_en if language.startswith("en") else self.body_zh


class ReviewerCapacity(models.Model):
    """Who takes new cases in the round robin, and how many open cases each may hold."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewer"),
        on_delete=models.CASCADE,
        related_name="case_capacity",
    )
    max_open_cases = models.PositiveIntegerField(_("open cases at most"), default=30)
    is_available = models.BooleanField(_("taking new cases"), default=True)
    # The round robin's tie-break: among equally loaded reviewers, the one waiting longest.
    last_assigned_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("reviewer capacity")
        verbose_name_plural = _("reviewer capacities")
        ordering = ["user__username"]

    def __str__(self) -> str:
        return str(self.user)


class ReporterReputation(models.Model):
    """Per contact (keyed hash): how often their cases turned out unfounded (LCM Art. 20)."""

    contact_key = models.CharField(max_length=64, unique=True, editable=False)
    filed = models.PositiveIntegerField(_("cases filed"), default=0)
    unfounded = models.PositiveIntegerField(_("found unfounded"), default=0)
    # Set when the unfounded share crosses the threshold; a lead reviews and may clear it.
    flagged_at = models.DateTimeField(_("flagged at"), null=True, blank=True)
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    reviewed_note = models.TextField(_("review note"), blank=True)

    class Meta:
        verbose_name = _("reporter reputation")
        verbose_name_plural = _("reporter reputations")
        ordering = ["-flagged_at", "-unfounded"]
        indexes = [
            # The leads' "flagged reporters" queue is counted on every admin index view.
            models.Index(
                fields=["flagged_at"],
                condition=Q(flagged_at__isnull=False),
                name="reputation_flagged_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact_key[:8]}… {self.unfounded}/{self.filed}"


class OrderCheck(models.TextChoices):
    """Whether the platform, which holds the orders, vouches for an evaluation's order. Only an
    order it vouches for weighs in credit: a form anyone can fill in must not raise or sink a
    party's grade, which decides who may go live (RULES.md §6)."""

    FORWARDED = "forwarded", _("Forwarded by the platform with its order")
    PENDING = "pending", _("Waiting for the platform to confirm the order")
    CONFIRMED = "confirmed", _("Order confirmed by the platform")
    NOT_FOUND = "not_found", _("No such order, says the platform")
    # An order is evaluated once: one real purchase must not carry a stream of evaluations.
    DUPLICATE_ORDER = "duplicate_order", _("The order's evaluation already counts")
    BEFORE_CHECKS = "before_checks", _("Stored before orders were checked")


# An evaluation's order number as the once-per-order rule compares it, in SQL: in capitals,
# without spaces (stored order numbers are already folded to half width and stripped), as
# complaints.services.contacts.order_key makes it of a new one; it has an index.
ORDER_KEY = Upper(Replace(F("order_number"), Value(" "), Value("")))

# The evaluations that weigh in credit and in a party's published averages. Those stored before
# orders were checked were counted as they came, and stay counted.
COUNTED_ORDER_CHECKS = (OrderCheck.FORWARDED, OrderCheck.CONFIRMED, OrderCheck.BEFORE_CHECKS)


class Evaluation(models.Model):
    """A consumer's rating of a merchant's or anchor's service (ECL Art. 39).

    Never edited or deleted by anyone: the admin grants no change or delete. Its states are a
    reviewer hiding it, with the reason recorded (2021 Measures Art. 21), and the platform's
    answer on its order (`order_check`): one the platform forwarded comes with its order; one
    from the public web form waits until the platform confirms the order, and only then counts.
    """

    merchant = models.ForeignKey(
        "accounts.Party",
        verbose_name=_("merchant"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="evaluations_as_merchant",
    )
    anchor = models.ForeignKey(
        "accounts.Party",
        verbose_name=_("anchor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="evaluations_as_anchor",
    )
    session = models.ForeignKey(
        "liverooms.LiveSession",
        verbose_name=_("live session"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="evaluations",
    )
    order_number = models.CharField(_("order number"), max_length=64)
    stars_description = models.PositiveSmallIntegerField(
        _("description accuracy"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    stars_service = models.PositiveSmallIntegerField(
        _("service attitude"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    stars_logistics = models.PositiveSmallIntegerField(
        _("logistics"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    # Only when an anchor is evaluated.
    stars_anchor_honesty = models.PositiveSmallIntegerField(
        _("anchor's honesty"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    text = models.TextField(_("evaluation"), blank=True)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    platform_ref = models.CharField(_("platform reference"), max_length=64, blank=True)
    contact_key = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    hidden_at = models.DateTimeField(_("hidden at"), null=True, blank=True, editable=False)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("hidden by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    hidden_reason = models.TextField(_("why hidden"), blank=True, editable=False)
    order_check = models.CharField(
        _("order check"),
        max_length=16,
        choices=OrderCheck.choices,
        default=OrderCheck.PENDING,
        # What a row means when a process that predates the field writes it: that code counted
        # every evaluation at once. It also fills the rows stored before (migration 0009).
        db_default=OrderCheck.BEFORE_CHECKS,
        editable=False,
    )
    order_checked_at = models.DateTimeField(
        _("order checked at"), null=True, blank=True, editable=False
    )
    # Who answered: the platform's API key ("api:<name>").
    order_checked_by = models.CharField(
        _("order checked by"), max_length=150, blank=True, db_default="", editable=False
    )
    # When the platform was last asked about the order (webhook `evaluation.order_check`, taken
    # by at least one endpoint). Empty while waiting: nobody took the question yet, and the
    # periodic ask (complaints.ask_unasked_orders) sends it once an endpoint takes the topic.
    order_asked_at = models.DateTimeField(
        _("platform asked at"), null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("evaluation")
        verbose_name_plural = _("evaluations")
        permissions = [
            ("hide_evaluation", _("Can hide an evaluation, with a reason")),
            ("ask_order_check", _("Can ask the platform again about an evaluation's order")),
        ]
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(merchant__isnull=False) | Q(anchor__isnull=False),
                name="evaluation_names_a_party",
            ),
            models.CheckConstraint(
                condition=Q(stars_description__gte=1, stars_description__lte=5)
                & Q(stars_service__gte=1, stars_service__lte=5)
                & Q(stars_logistics__gte=1, stars_logistics__lte=5)
                & (
                    Q(stars_anchor_honesty__isnull=True)
                    | Q(stars_anchor_honesty__gte=1, stars_anchor_honesty__lte=5)
                ),
                name="evaluation_stars_range",
            ),
            # A hidden evaluation always says why.
            models.CheckConstraint(
                condition=Q(hidden_at__isnull=True) | ~Q(hidden_reason=""),
                name="evaluation_hidden_has_reason",
            ),
            models.UniqueConstraint(
                fields=["source", "platform_ref"],
                condition=~Q(platform_ref=""),
                name="evaluation_platform_ref_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "created_at"], name="evaluation_merchant_idx"),
            models.Index(fields=["anchor", "created_at"], name="evaluation_anchor_idx"),
            # The other evaluations of an order (an order is evaluated once).
            models.Index(ORDER_KEY, name="evaluation_order_idx"),
            # The few waiting for the platform's answer, for their queue.
            models.Index(
                fields=["created_at"],
                condition=Q(order_check="pending"),
                name="evaluation_order_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_number} ({self.created_at:%Y-%m-%d})"
