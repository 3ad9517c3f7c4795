"""Credit. For now: the external sanctions list that the entry checks consult.

AdL Art. 38 ¶3: a natural person, legal person or organisation administratively punished for
recommending or vouching in a false advertisement may not act as an endorser for 3 years; LCM
Art. 35 makes influential live recommenders endorsers. The list also carries the regulators'
abnormal-operation and serious-dishonesty entries (LCM Art. 11), which the credit rules use.
"""

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class SanctionKind(models.TextChoices):
    FALSE_AD_ENDORSEMENT = "false_ad_endorsement", _("Punished for endorsing a false advertisement")
    ADMINISTRATIVE_PENALTY = "administrative_penalty", _("Administrative penalty")
    SERIOUS_DISHONESTY = "serious_dishonesty", _("Serious dishonesty list")
    ABNORMAL_OPERATION = "abnormal_operation", _("Abnormal operation list")


class SanctionEntry(models.Model):
    """One decision by an authority about an identity, found through its keyed hash.

    The ID number or credit code is never stored: imports hash it with the registry's key.
    """

    kind = models.CharField(_("kind"), max_length=32, choices=SanctionKind.choices)
    identity_hash = models.CharField(max_length=64, editable=False)
    name = models.CharField(_("name"), max_length=200)
    identifier_masked = models.CharField(_("identifier"), max_length=18, editable=False)
    authority = models.CharField(_("decided by"), max_length=200)
    reference = models.CharField(_("decision number"), max_length=100)
    decided_on = models.DateField(_("decided on"))
    # Empty when the list gives no end; the false-advertisement bar ends 3 years after decision.
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    imported_at = models.DateTimeField(_("imported at"), default=timezone.now, editable=False)
    imported_by = models.CharField(_("imported by"), max_length=150, editable=False)

    class Meta:
        verbose_name = _("sanctions-list entry")
        verbose_name_plural = _("sanctions list")
        ordering = ["-decided_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=SanctionKind.values), name="sanction_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("decided_on")),
                name="sanction_ends_after_decision",
            ),
            # Importing the same list twice adds nothing.
            models.UniqueConstraint(
                fields=["kind", "identity_hash", "reference"], name="sanction_entry_unique"
            ),
        ]
        indexes = [
            # The entry check: "any entry of this kind for this identity still running".
            models.Index(fields=["identity_hash", "kind"], name="sanction_identity_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name} ({self.reference})"


# --- Rule sets, events and scores (RULES.md §6) -------------------------------------------------


class RuleSet(models.Model):
    """One published version of the credit rules: the scale and grades, the events and their
    points, decay and repair, the weight of consumers' evaluations, and the grade each product
    category needs for going live. The rules are public (ECL Art. 39); a new version takes effect
    no sooner than 7 days after it is published (ECL Art. 34). Published versions are never
    edited."""

    version = models.PositiveIntegerField(_("version"), unique=True, editable=False)
    title = models.CharField(_("title"), max_length=200)
    summary = models.TextField(_("what changes"), blank=True)
    rules = models.JSONField(_("rules"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    created_by = models.CharField(_("created by"), max_length=150, editable=False)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True, editable=False)
    published_by = models.CharField(_("published by"), max_length=150, blank=True, editable=False)
    effective_from = models.DateTimeField(_("in force from"), null=True, blank=True)

    class Meta:
        verbose_name = _("credit rule set")
        verbose_name_plural = _("credit rule sets")
        ordering = ["-version"]
        permissions = [("publish_ruleset", _("Can publish credit rule sets"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(published_at__isnull=True) | Q(effective_from__isnull=False),
                name="ruleset_published_has_start",
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.version} {self.title}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class EventKind(models.TextChoices):
    VIOLATION = "violation", _("Violation confirmed")
    MEASURE = "measure", _("Measure executed")
    COMPLAINT_UPHELD = "complaint_upheld", _("Complaint upheld")
    EVALUATION = "evaluation", _("Consumer evaluation")
    TRAINING = "training", _("Training completed")
    SANCTION = "sanction", _("Sanctions-list entry")
    SHARED_RECORD = "shared_record", _("Record shared by another platform")
    REPAIR = "repair", _("Credit repair")
    REVERSAL = "reversal", _("Reversal")


class CreditEvent(models.Model):
    """Something that moves a party's credit, with its source and the rule version that priced
    it. Never edited: a mistake or a reversed measure is undone by a reversing event."""

    party = models.ForeignKey(
        "accounts.Party", verbose_name=_("party"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=EventKind.choices)
    # Points as priced when the event was recorded (negative for deductions); evaluations carry
    # their stars in `value` instead and weigh in through the rule set's evaluation window.
    points = models.IntegerField(_("points"), default=0)
    value = models.DecimalField(_("value"), max_digits=6, decimal_places=2, null=True, blank=True)
    rule_set = models.ForeignKey(
        RuleSet, verbose_name=_("rule set"), on_delete=models.PROTECT, related_name="+"
    )
    rule = models.CharField(_("rule"), max_length=64)
    # Where it came from: "enforcement.measure:12", "complaints.case:7", "credit.sanctionentry:3".
    source = models.CharField(_("source"), max_length=64)
    description = models.CharField(_("description"), max_length=300, blank=True)
    occurred_at = models.DateTimeField(_("occurred at"))
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now, editable=False)
    reverses = models.OneToOneField(
        "self",
        verbose_name=_("reverses"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversed_by",
    )

    class Meta:
        verbose_name = _("credit event")
        verbose_name_plural = _("credit events")
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=EventKind.values), name="credit_event_kind_valid"
            ),
            # One event per source and rule: a listener running twice records it once.
            models.UniqueConstraint(
                fields=["party", "source", "rule"], name="credit_event_once_per_source"
            ),
        ]
        indexes = [
            models.Index(fields=["party", "occurred_at"], name="credit_event_party_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.points:+d}"


class CreditScore(models.Model):
    """A party's current score and grade, under the rule set in force when it was computed."""

    party = models.OneToOneField(
        "accounts.Party",
        verbose_name=_("party"),
        on_delete=models.PROTECT,
        primary_key=True,
        related_name="credit_score",
    )
    score = models.IntegerField(_("score"))
    grade = models.CharField(_("grade"), max_length=8)
    rule_set = models.ForeignKey(
        RuleSet, verbose_name=_("rule set"), on_delete=models.PROTECT, related_name="+"
    )
    deductions = models.IntegerField(_("points deducted"), default=0)
    additions = models.IntegerField(_("points added"), default=0)
    evaluation_points = models.IntegerField(_("points from evaluations"), default=0)
    computed_at = models.DateTimeField(_("computed at"), default=timezone.now)

    class Meta:
        verbose_name = _("credit score")
        verbose_name_plural = _("credit scores")
        indexes = [models.Index(fields=["grade"], name="credit_score_grade_idx")]

    def __str__(self) -> str:
        return f"{self.party_id}: {self.score} ({self.grade})"


class ScoreChange(models.Model):
    """The history of a party's score: one row each time it changes."""

    party = models.ForeignKey(
        "accounts.Party", verbose_name=_("party"), on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    score = models.IntegerField(_("score"))
    grade = models.CharField(_("grade"), max_length=8)
    rule_set = models.ForeignKey(RuleSet, on_delete=models.PROTECT, related_name="+")
    cause = models.CharField(_("cause"), max_length=64)

    class Meta:
        verbose_name = _("score change")
        verbose_name_plural = _("score changes")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["party", "-at"], name="score_change_party_idx")]

    def __str__(self) -> str:
        return f"{self.party_id}: {self.score} ({self.grade}) @ {self.at:%Y-%m-%d}"


# --- Cross-platform sharing (joint discipline, LCM Art. 14) -------------------------------------


class ConsortiumIdentity(models.Model):
    """A party's identity hashed under the consortium's shared key, so that platforms can match
    records without exchanging ID numbers."""

    party = models.OneToOneField(
        "accounts.Party", on_delete=models.PROTECT, primary_key=True, related_name="+"
    )
    consortium_hash = models.CharField(max_length=64, db_index=True)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("consortium identity")
        verbose_name_plural = _("consortium identities")

    def __str__(self) -> str:
        return f"{self.party_id}: {self.consortium_hash[:12]}…"


class SharedKind(models.TextChoices):
    SERIOUS_DISHONESTY = "serious_dishonesty", _("Serious dishonesty")
    BLACKLIST = "blacklist", _("Blacklisted")
    BLACKLIST_LIFTED = "blacklist_lifted", _("Blacklisting lifted")


class FeedEntry(models.Model):
    """One record this platform shares in its signed feed. A correction or revocation is a new
    entry pointing at the one it changes; entries are never edited."""

    seq = models.BigAutoField(primary_key=True)
    kind = models.CharField(_("kind"), max_length=20, choices=SharedKind.choices)
    consortium_hash = models.CharField(max_length=64)
    party = models.ForeignKey(
        "accounts.Party", verbose_name=_("party"), on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(_("source"), max_length=64)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    revokes = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="revoked_by"
    )
    published_at = models.DateTimeField(_("published at"), default=timezone.now)

    class Meta:
        verbose_name = _("shared record (ours)")
        verbose_name_plural = _("shared records (ours)")
        ordering = ["seq"]
        constraints = [
            models.UniqueConstraint(fields=["source", "kind"], name="feed_entry_once_per_source")
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.get_kind_display()}"


class Peer(models.Model):
    """Another platform in the consortium: where its feed is and the key that signs it."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    feed_url = models.URLField(_("feed URL"), max_length=500)
    public_key = models.TextField(_("signing key (Ed25519, base64)"))
    # The key the peer will sign with next, as its pages announce it under the current key: the
    # first page that verifies with it makes it the current key (credit/sharing.py, rotation).
    next_public_key = models.TextField(_("announced next signing key"), blank=True, editable=False)
    key_rotated_at = models.DateTimeField(_("signing key last changed"), null=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    last_seq = models.BigIntegerField(_("last entry read"), default=0, editable=False)
    last_pulled_at = models.DateTimeField(_("last pulled"), null=True, blank=True, editable=False)
    last_error = models.TextField(_("last error"), blank=True, editable=False)

    class Meta:
        verbose_name = _("peer platform")
        verbose_name_plural = _("peer platforms")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PeerRecord(models.Model):
    """A record imported from a peer's feed, matched to a local party when the hashes agree."""

    peer = models.ForeignKey(Peer, on_delete=models.PROTECT, related_name="records")
    remote_seq = models.BigIntegerField(_("peer's entry"))
    kind = models.CharField(_("kind"), max_length=20, choices=SharedKind.choices)
    consortium_hash = models.CharField(max_length=64, db_index=True)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    revoked_at = models.DateTimeField(
        pgettext_lazy("shared record", "revoked at"), null=True, blank=True
    )
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    party = models.ForeignKey(
        "accounts.Party",
        verbose_name=_("matched party"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    payload = models.JSONField(_("as received"), default=dict)

    class Meta:
        verbose_name = _("shared record (peer's)")
        verbose_name_plural = _("shared records (peers')")
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["peer", "remote_seq"], name="peer_record_once")
        ]

    def __str__(self) -> str:
        return f"{self.peer} #{self.remote_seq} {self.get_kind_display()}"


class Dispute(models.Model):
    """A party disputes a shared record: ours (upheld: we revoke it in the feed) or a peer's
    (upheld: it stops counting here, and the peer is to be told). An open dispute suspends
    nothing; credit/sharing.py says why."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        UPHELD = "upheld", _("Record corrected or revoked")
        REJECTED = "rejected", _("Record stands")

    party = models.ForeignKey("accounts.Party", on_delete=models.PROTECT, related_name="+")
    feed_entry = models.ForeignKey(
        FeedEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="disputes"
    )
    peer_record = models.ForeignKey(
        PeerRecord, null=True, blank=True, on_delete=models.PROTECT, related_name="disputes"
    )
    grounds = models.TextField(pgettext_lazy("dispute", "grounds"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    filed_at = models.DateTimeField(_("filed at"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.CharField(pgettext_lazy("person", "decided by"), max_length=150, blank=True)
    decision = models.TextField(_("decision"), blank=True)

    class Meta:
        verbose_name = _("dispute of a shared record")
        verbose_name_plural = _("disputes of shared records")
        ordering = ["filed_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(feed_entry__isnull=False) ^ Q(peer_record__isnull=False),
                name="dispute_one_record",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.party_id}: {self.get_status_display()}"


# --- Long jobs started from the admin ------------------------------------------------------------


class Job(models.Model):
    """A long job (an import, a recompute, an export) and its progress, for the admin to show."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("job"), max_length=32)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.QUEUED
    )
    done = models.PositiveBigIntegerField(_("done"), default=0)
    total = models.PositiveBigIntegerField(_("total"), default=0)
    result = models.JSONField(pgettext_lazy("job", "result"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    started_by = models.CharField(_("started by"), max_length=150)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} ({self.get_status_display()})"
