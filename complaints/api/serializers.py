"""What the platform sends and reads about complaints, reports and evaluations.

Input serializers check shape and turn ids into rows; the rules that need the database (who must
be named, the contact a complaint needs, the image cap) stay in complaints.services.
"""

from datetime import timedelta

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.files import validate_phone
from accounts.models import Party, PartyKind
from complaints import services
from complaints.models import (
    Case,
    CaseEvent,
    CaseKind,
    ComplaintCategory,
    ConsumerRequest,
    Evaluation,
    Evidence,
    OrderCheck,
    ReportCategory,
    Source,
)
from complaints.notifications import tracking_url
from complaints.services.contacts import fold_width
from config.api.fields import AwareDateTimeField
from config.api.serializers import FieldsBuiltOnce
from liverooms.models import LiveSession

# Longer than any stream; a larger offset is a unit mistake (milliseconds sent as seconds).
MAX_STREAM_OFFSET_SECONDS = 7 * 24 * 3600
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]


class FoldedCharField(serializers.CharField):
    """Text folded to ASCII where it has full-width forms before it is checked, as on the web
    form: '１３８…' and 'ＯＲＤ－１' are the same phone and order as 138… and ORD-1."""

    def to_internal_value(self, data):
        return fold_width(super().to_internal_value(data))


class PartyIdField(serializers.IntegerField):
    """A merchant's or an anchor's id in the party registry; validated to that party."""

    def __init__(self, *, kind: str, **kwargs):
        self.kind = kind
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        party = Party.objects.filter(pk=super().to_internal_value(data)).first()
        if party is None:
            raise serializers.ValidationError(_("No party with this id."))
        if party.kind != self.kind:
            if self.kind == PartyKind.MERCHANT:
                raise serializers.ValidationError(_("This party is not a merchant."))
            raise serializers.ValidationError(_("This party is not an anchor."))
        return party


class SessionIdField(serializers.IntegerField):
    """A live session's id, as the go-live gate answered it."""

    def to_internal_value(self, data):
        pk = super().to_internal_value(data)
        session = LiveSession.objects.select_related("owner").filter(pk=pk).first()
        if session is None:
            raise serializers.ValidationError(_("No live session with this id."))
        return session


# --- Cases ---------------------------------------------------------------------------------------


class ContactIn(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True, default="")
    phone = FoldedCharField(max_length=32, required=False, allow_blank=True, default="")

    def validate_phone(self, value):
        return validate_phone(value) if value.strip() else ""


class CaseIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=CaseKind.choices)
    platform_ref = serializers.CharField(
        max_length=64,
        help_text=_(
            "Your id for this complaint. Sending the same platform_ref again returns the case "
            "already filed (200) instead of filing it twice (201): retry freely."
        ),
    )
    received_at = AwareDateTimeField(
        help_text=_(
            "When the consumer filed it in your app, with its UTC offset. The deadlines count in "
            "working days from the date this falls on in China. Not in the future."
        ),
    )
    merchant_id = PartyIdField(kind=PartyKind.MERCHANT, required=False, allow_null=True)
    anchor_id = PartyIdField(kind=PartyKind.ANCHOR, required=False, allow_null=True)
    session_id = SessionIdField(
        required=False,
        allow_null=True,
        help_text=_(
            "The live session; its operator (the room's owner when it went live) becomes the "
            "merchant or anchor if not given."
        ),
    )
    order_number = FoldedCharField(max_length=64, required=False, allow_blank=True, default="")
    purchase = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    category = serializers.ChoiceField(
        choices=ComplaintCategory.choices, required=False, allow_blank=True, default=""
    )
    request = serializers.ChoiceField(
        choices=ConsumerRequest.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text=_("What the consumer asks for; required for a complaint."),
    )
    request_detail = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )
    report_category = serializers.ChoiceField(
        choices=ReportCategory.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text=_("The violation seen; required for a report."),
    )
    stream_offset = serializers.IntegerField(
        min_value=0,
        max_value=MAX_STREAM_OFFSET_SECONDS,
        required=False,
        allow_null=True,
        help_text=_("For a report: seconds from the start of the stream to what was seen."),
    )
    facts = serializers.CharField(max_length=10000)
    contact = ContactIn(
        required=False,
        help_text=_(
            "The consumer's contact; a complaint needs an e-mail address or a phone number. "
            "Stored encrypted and never returned in clear."
        ),
    )
    language = serializers.ChoiceField(
        choices=LANGUAGES,
        default="zh-hans",
        help_text=_("The language of the e-mails the consumer receives."),
    )

    def case_input(self) -> services.CaseInput:
        data = self.validated_data
        contact = data.get("contact") or {}
        offset = data.get("stream_offset")
        return services.CaseInput(
            kind=data["kind"],
            facts=data["facts"],
            merchant=data.get("merchant_id"),
            anchor=data.get("anchor_id"),
            session=data.get("session_id"),
            order_number=data["order_number"],
            purchase=data["purchase"],
            category=data["category"],
            request=data["request"],
            request_detail=data["request_detail"],
            report_category=data["report_category"],
            stream_offset=timedelta(seconds=offset) if offset is not None else None,
            contact_name=contact.get("name", ""),
            contact_email=contact.get("email", ""),
            contact_phone=contact.get("phone", ""),
            language=data["language"],
        )


class TimelineEventOut(FieldsBuiltOnce, serializers.ModelSerializer):
    class Meta:
        model = CaseEvent
        fields = ["kind", "status", "at", "message"]


def _blank_choice(name: str) -> serializers.ChoiceField:
    """A case's choice that is blank where it does not apply: a report has no category or
    request, a complaint no report category, and no case an outcome before it is decided. The
    REST framework drops allow_blank from a field it derives read-only, and the schema would then
    promise one of the choices every time."""
    field = Case._meta.get_field(name)
    return serializers.ChoiceField(
        choices=field.choices, allow_blank=True, read_only=True, label=field.verbose_name
    )


class CaseOut(FieldsBuiltOnce, serializers.ModelSerializer):
    """A case as the platform reads it. `contact` and `tracking_url` are given to the platform's
    own keys only (context `platform_view`); a key bound to a merchant or anchor gets null, and
    so does the platform for `tracking_url` of a case filed on the public web form."""

    outcome = _blank_choice("outcome")
    merchant_id = serializers.IntegerField(read_only=True, allow_null=True)
    anchor_id = serializers.IntegerField(read_only=True, allow_null=True)
    session_id = serializers.IntegerField(read_only=True, allow_null=True)
    category = _blank_choice("category")
    request = _blank_choice("request")
    report_category = _blank_choice("report_category")
    stream_offset = serializers.SerializerMethodField(
        help_text=_("Seconds from the start of the stream, for a report.")
    )
    clock_paused = serializers.BooleanField(
        source="is_paused",
        read_only=True,
        help_text=_("The clocks are stopped: waiting for the consumer or an appraisal."),
    )
    merged_into = serializers.SlugRelatedField(
        slug_field="tracking_code", read_only=True, allow_null=True
    )
    evidence_count = serializers.IntegerField(read_only=True)
    contact = serializers.SerializerMethodField(
        help_text=_("The consumer's contact, masked: w***@example.com / 138****5678.")
    )
    tracking_url = serializers.SerializerMethodField(
        help_text=_(
            "The consumer's private tracking link, for the cases you forwarded. Show it to the "
            "consumer only: whoever holds it can add information, withdraw and confirm the "
            "resolution."
        )
    )

    class Meta:
        model = Case
        fields = [
            "tracking_code",
            "kind",
            "status",
            "outcome",
            "outcome_note",
            "refund_fen",
            "compensation_fen",
            "source",
            "platform_ref",
            "received_at",
            "language",
            "merchant_id",
            "anchor_id",
            "session_id",
            "order_number",
            "purchase",
            "category",
            "request",
            "request_detail",
            "report_category",
            "stream_offset",
            "facts",
            "contact",
            "acceptance_due",
            "resolution_due",
            "mediation_due",
            "deadline_estimated",
            "clock_paused",
            "accepted_at",
            "decided_at",
            "closed_at",
            "merged_into",
            "evidence_count",
            "handling_rating",
            "tracking_url",
        ]
        read_only_fields = fields

    def to_representation(self, case: Case) -> dict:
        data = super().to_representation(case)
        if not self.context.get("platform_view") and case.kind == CaseKind.REPORT:
            data["facts"] = ""  # the reported party does not read the reporter's account
        return data

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_stream_offset(self, case: Case) -> int | None:
        offset = case.stream_offset
        return int(offset.total_seconds()) if offset is not None else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_contact(self, case: Case) -> str | None:
        if not self.context.get("platform_view"):
            return None
        return services.contact_masked(case)

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_tracking_url(self, case: Case) -> str | None:
        # Only for the cases the platform forwarded: a consumer who filed on our own web form
        # holds their link alone.
        if not self.context.get("platform_view") or case.source != Source.API:
            return None
        return tracking_url(case)


# What a key bound to the party complained about or reported does not read: the consumer's own
# later words (what they added, why they withdrew) and the reviewers' messages to them (they
# often carry a phone number or an address), and a reporter's account of what they saw.
_CONSUMER_DIRECTED = {
    CaseEvent.Kind.INFO_REQUESTED,
    CaseEvent.Kind.INFO_ADDED,
    CaseEvent.Kind.REPLY,
    CaseEvent.Kind.WITHDRAWN,
}


class CaseDetailOut(CaseOut):
    timeline = TimelineEventOut(
        source="public_events",
        many=True,
        read_only=True,
        help_text=_("What the consumer's tracking page shows, oldest first."),
    )

    class Meta(CaseOut.Meta):
        fields = [*CaseOut.Meta.fields, "timeline"]
        read_only_fields = fields

    def to_representation(self, case: Case) -> dict:
        data = super().to_representation(case)
        if not self.context.get("platform_view"):
            for event in data["timeline"]:
                if event["kind"] in _CONSUMER_DIRECTED:
                    event["message"] = ""
        return data


class EvidenceIn(serializers.Serializer):
    images = serializers.ListField(
        child=serializers.FileField(),
        min_length=1,
        max_length=services.MAX_EVIDENCE,
        help_text=_("One or more JPEG, PNG or WebP images, each in a part named images."),
    )


class EvidenceOut(serializers.ModelSerializer):
    class Meta:
        model = Evidence
        fields = ["id", "sha256", "content_type", "width", "height", "added_at"]


class EvidenceAddedOut(serializers.Serializer):
    added = EvidenceOut(
        many=True,
        help_text=_("The images stored; an image the case already holds is not stored again."),
    )
    evidence_count = serializers.IntegerField()


class WithdrawIn(serializers.Serializer):
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class InformationIn(serializers.Serializer):
    text = serializers.CharField(max_length=5000)


# --- Evaluations ---------------------------------------------------------------------------------


class EvaluationIn(serializers.Serializer):
    platform_ref = serializers.CharField(
        max_length=64,
        help_text=_(
            "Your id for this evaluation: the same platform_ref again returns the evaluation "
            "already stored (200)."
        ),
    )
    merchant_id = PartyIdField(kind=PartyKind.MERCHANT, required=False, allow_null=True)
    anchor_id = PartyIdField(kind=PartyKind.ANCHOR, required=False, allow_null=True)
    session_id = SessionIdField(required=False, allow_null=True)
    order_number = FoldedCharField(max_length=64)
    stars_description = serializers.IntegerField(min_value=1, max_value=5)
    stars_service = serializers.IntegerField(min_value=1, max_value=5)
    stars_logistics = serializers.IntegerField(min_value=1, max_value=5)
    stars_anchor_honesty = serializers.IntegerField(
        min_value=1,
        max_value=5,
        required=False,
        allow_null=True,
        help_text=_("Only when an anchor is evaluated."),
    )
    text = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class EvaluationOut(FieldsBuiltOnce, serializers.ModelSerializer):
    merchant_id = serializers.IntegerField(read_only=True, allow_null=True)
    anchor_id = serializers.IntegerField(read_only=True, allow_null=True)
    session_id = serializers.IntegerField(read_only=True, allow_null=True)
    hidden_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text=_(
            "Set when a reviewer hid the evaluation; do not show it any more. Evaluations are "
            "never deleted."
        ),
    )
    hidden_reason = serializers.CharField(read_only=True)
    order_check = serializers.ChoiceField(
        choices=OrderCheck.choices,
        read_only=True,
        help_text=_(
            "Whether you vouched for the order: `forwarded` (you forwarded it), `pending` (made "
            "on the public web form: answer the webhook `evaluation.order_check` with POST "
            ".../order-check/), `confirmed`, `not_found`, `duplicate_order` (the order's "
            "evaluation of this merchant or anchor already counts: an order is evaluated once) "
            "or `before_checks` (stored before orders were checked). Only forwarded, confirmed "
            "and before_checks count in credit; show the others as unverified, or not at all."
        ),
    )

    class Meta:
        model = Evaluation
        fields = [
            "id",
            "platform_ref",
            "source",
            "merchant_id",
            "anchor_id",
            "session_id",
            "order_number",
            "stars_description",
            "stars_service",
            "stars_logistics",
            "stars_anchor_honesty",
            "text",
            "created_at",
            "hidden_at",
            "hidden_reason",
            "order_check",
            "order_checked_at",
        ]
        read_only_fields = fields


class OrderCheckIn(serializers.Serializer):
    found = serializers.BooleanField(
        help_text=_(
            "True when the order is the consumer's purchase from the merchant or anchor the "
            "evaluation names; false when there is no such order."
        )
    )
