"""What the platform reads about violations, measures, appeals and deposits, and what it sends to
appeal a measure and to report a deposit payment.

Shapes only: whether an appeal is in time, or a payment reference new, is decided in
enforcement.services.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Party, PartyKind
from complaints.models import CaseKind
from enforcement.models import Appeal, Evidence, LedgerEntry, Measure, Violation
from enforcement.services import statements
from enforcement.services.appeals import MAX_GROUNDS
from enforcement.services.ledger import MAX_TOP_UP_FEN

# --- violations ----------------------------------------------------------------------------------


class ViolationEvidenceOut(serializers.ModelSerializer):
    """An item of evidence, described; the file itself stays with the compliance team, and its
    SHA-256 lets anyone who later receives it check that it is the same file."""

    class Meta:
        model = Evidence
        fields = [
            "id",
            "kind",
            "description",
            "content_type",
            "size",
            "sha256",
            "reference",
            "added_at",
        ]
        read_only_fields = fields


class ViolationOut(serializers.ModelSerializer):
    party_id = serializers.IntegerField(read_only=True)
    violation_type = serializers.CharField(
        source="type.code",
        read_only=True,
        allow_null=True,
        help_text=_("The catalogue's code; null while the violation is only suspected."),
    )
    violation_type_version = serializers.IntegerField(
        source="type.version",
        read_only=True,
        allow_null=True,
        help_text=_("The catalogue version it was judged under."),
    )
    legal_basis = serializers.CharField(source="type.legal_basis", read_only=True, allow_null=True)
    session_id = serializers.IntegerField(read_only=True, allow_null=True)
    evidence = ViolationEvidenceOut(many=True, read_only=True)

    class Meta:
        model = Violation
        fields = [
            "id",
            "party_id",
            "status",
            "violation_type",
            "violation_type_version",
            "legal_basis",
            "facts",
            "occurred_at",
            "session_id",
            "created_at",
            "confirmed_at",
            "dismissed_reason",
            "evidence",
        ]
        read_only_fields = fields

    def to_representation(self, violation: Violation) -> dict:
        data = super().to_representation(violation)
        # As in the complaints API: the reported party does not read the reporter's account,
        # which a violation raised from a report carries as its facts.
        if self.context.get("party_view") and getattr(violation, "case_kind", None) == (
            CaseKind.REPORT
        ):
            data["facts"] = ""
        return data


# --- appeals -------------------------------------------------------------------------------------


class AppealOut(serializers.ModelSerializer):
    measure_id = serializers.IntegerField(read_only=True)
    party_id = serializers.IntegerField(source="measure.party_id", read_only=True)
    reasons = serializers.CharField(
        source="decision_reason",
        read_only=True,
        help_text=_("The reasons for the decision; empty while pending."),
    )

    class Meta:
        model = Appeal
        fields = [
            "id",
            "measure_id",
            "party_id",
            "channel",
            "grounds",
            "contact",
            "filed_at",
            "status",
            "decided_at",
            "reasons",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "status": {
                "help_text": _(
                    "pending until a member of the compliance team decides; then the decision: "
                    "upheld (the measure stands) or reversed (it is undone: restrictions lifted, "
                    "deposit refunded, credit restored)."
                )
            }
        }


class AppealIn(serializers.Serializer):
    # Blank passes here so that the service's own message says what is missing.
    grounds = serializers.CharField(
        max_length=MAX_GROUNDS,
        allow_blank=True,
        help_text=_("Why the party says the measure is wrong, in its own words."),
    )
    contact = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text=_("How the compliance team reaches the party about this appeal."),
    )


# --- measures ------------------------------------------------------------------------------------


class MeasureOut(serializers.ModelSerializer):
    """The fields of the `measure.executed` webhook under the same names, and what has happened
    to the measure since."""

    measure_id = serializers.IntegerField(source="pk", read_only=True)
    party_id = serializers.IntegerField(read_only=True)
    party_platform_ref = serializers.CharField(source="party.platform_ref", read_only=True)
    violation_id = serializers.IntegerField(read_only=True)
    violation_type = serializers.CharField(source="violation.type.code", read_only=True)
    violation_type_version = serializers.IntegerField(
        source="violation.type.version", read_only=True
    )
    legal_basis = serializers.CharField(source="violation.type.legal_basis", read_only=True)
    product_ids = serializers.SerializerMethodField()
    content_refs = serializers.ListField(child=serializers.CharField(), read_only=True)
    appeal_deadline = serializers.SerializerMethodField(
        help_text=_("The last moment to appeal; null until the measure is executed.")
    )
    statement_url = serializers.SerializerMethodField(
        help_text=_(
            "The party's page with the statement of reasons and the appeal form; null until "
            "the measure is executed."
        )
    )
    appeal = AppealOut(read_only=True, allow_null=True)

    class Meta:
        model = Measure
        fields = [
            "measure_id",
            "puid",
            "party_id",
            "party_platform_ref",
            "kind",
            "status",
            "violation_id",
            "violation_type",
            "violation_type_version",
            "legal_basis",
            "reason",
            "term_days",
            "starts_at",
            "ends_at",
            "correct_by",
            "amount_fen",
            "product_ids",
            "content_refs",
            "executed_at",
            "lifted_at",
            "appeal_deadline",
            "statement_url",
            "appeal",
        ]
        read_only_fields = fields

    def get_product_ids(self, measure: Measure) -> list[int]:
        return sorted(product.pk for product in measure.products.all())

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_appeal_deadline(self, measure: Measure) -> str | None:
        deadline = statements.appeal_deadline(measure)
        return serializers.DateTimeField().to_representation(deadline) if deadline else None

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_statement_url(self, measure: Measure) -> str | None:
        # The page opens only for an executed measure.
        return statements.statement_url(measure) if measure.executed_at else None


class StatementOut(serializers.Serializer):
    zh_hans = serializers.CharField(help_text=_("The statement of reasons in Chinese."))
    en = serializers.CharField(help_text=_("The same statement in English."))
    appeal_deadline = serializers.DateTimeField()
    statement_url = serializers.URLField()


# --- deposits ------------------------------------------------------------------------------------


class DepositAccountOut(serializers.ModelSerializer):
    """A party's deposit position; a party that has paid nothing in yet holds 0."""

    party_id = serializers.IntegerField(source="pk", read_only=True)
    party_kind = serializers.ChoiceField(source="kind", choices=PartyKind.choices, read_only=True)
    party_platform_ref = serializers.CharField(source="platform_ref", read_only=True)
    balance_fen = serializers.IntegerField(read_only=True)
    shortfall_fen = serializers.IntegerField(
        read_only=True,
        help_text=_(
            "What deductions could not take because the balance ran out: owed, until the "
            "deduction is reversed on appeal."
        ),
    )
    required_fen = serializers.IntegerField(
        read_only=True,
        help_text=_(
            "The deposit the party must hold: the largest requirement among the categories of "
            "its listed products, the rule the go-live gate applies to the products a session "
            "shows."
        ),
    )
    updated_at = serializers.DateTimeField(
        source="deposit_updated_at",
        read_only=True,
        allow_null=True,
        help_text=_("The last movement; null if none."),
    )

    class Meta:
        model = Party
        fields = [
            "party_id",
            "party_kind",
            "party_platform_ref",
            "balance_fen",
            "shortfall_fen",
            "required_fen",
            "updated_at",
        ]
        read_only_fields = fields


class LedgerEntryOut(serializers.ModelSerializer):
    amount_fen = serializers.IntegerField(
        read_only=True, help_text=_("Signed: money in is positive, money out negative.")
    )
    shortfall_fen = serializers.IntegerField(
        read_only=True,
        help_text=_(
            "The change in what the party owes: on a deduction, what it could not take; on the "
            "refund of a reversed deduction, minus the shortfall that deduction recorded."
        ),
    )
    measure_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = LedgerEntry
        fields = [
            "id",
            "kind",
            "amount_fen",
            "balance_after_fen",
            "shortfall_fen",
            "reference",
            "measure_id",
            "at",
        ]
        read_only_fields = fields


class FenField(serializers.IntegerField):
    """Money as a whole number of fen. A string or a decimal is refused rather than parsed or
    rounded: 100.5 or "100" is a client's unit or type mistake, and this is money."""

    default_error_messages = {
        "not_fen": _("Give the amount as a whole number of fen, e.g. 50000 for 500 yuan."),
    }

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("not_fen")
        return super().to_internal_value(data)


class TopUpIn(serializers.Serializer):
    amount_fen = FenField(min_value=1, max_value=MAX_TOP_UP_FEN)
    reference = serializers.CharField(
        max_length=100,
        help_text=_(
            "Your payment system's id for this payment. Reporting the same reference again "
            "returns the entry already posted (200) instead of posting it twice (201)."
        ),
    )
