from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import Party, PartyKind
from config.api.fields import (
    AwareDateTimeField,
    IdField,
    StrictCharField,
    StrictIntegerField,
    StrictModelSerializer,
    bound_party_id,
)
from config.api.serializers import FieldsBuiltOnce
from liverooms import review
from liverooms.models import (
    Alert,
    LiveRoom,
    LiveSession,
    SessionAnchor,
    SessionProduct,
    SignalKind,
)
from merchants.models import Category


class RoomSerializer(StrictModelSerializer):
    owner_id = IdField(
        help_text=_(
            "The merchant or anchor whose room it is; a key bound to a party names its own."
        )
    )
    # Declared, not derived: the model's unique constraint would give the field a uniqueness
    # validator, and posting a room's ref again -- the documented way to update it -- would be
    # refused. The constraint stays in the database; room_register keeps to it.
    platform_ref = StrictCharField(
        max_length=64,
        help_text=_(
            "The platform's id for the room, unique across the platform; posting it again "
            "updates that room."
        ),
    )
    category = serializers.ChoiceField(choices=Category.choices)

    class Meta:
        model = LiveRoom
        fields = [
            "id",
            "owner_id",
            "platform_ref",
            "title",
            "category",
            "followers",
            "monthly_sales_fen",
            "risk_grade",
            "risk_score",
            "risk_graded_at",
        ]
        read_only_fields = ["risk_grade", "risk_score", "risk_graded_at"]

    def validate_owner_id(self, value):
        owners = Party.objects.filter(pk=value, kind__in=[PartyKind.MERCHANT, PartyKind.ANCHOR])
        party_id = bound_party_id(self)
        if party_id is None:
            owner = owners.first()
            if owner is None:
                raise serializers.ValidationError(_("No merchant or anchor with this id."))
            return owner
        # A key bound to a party sees only its own party: another party is answered exactly as
        # an id that does not exist, so that it cannot tell which ids do.
        owner = owners.filter(pk=party_id).first()
        if owner is None:
            raise serializers.ValidationError(
                _("No merchant or anchor with this id, or not the one this key is bound to.")
            )
        return owner


class PreStreamReviewIn(serializers.Serializer):
    """liverooms/review.py's items; any other is refused, so that what a session records is
    what the review covered."""

    script_reviewed = serializers.BooleanField(help_text=_("The stream's scripts were reviewed."))
    set_reviewed = serializers.BooleanField(help_text=_("The set (the scene) was reviewed."))
    products_reviewed = serializers.BooleanField(
        required=False, help_text=_("The products shown and their documents were checked.")
    )
    reviewer = StrictCharField(
        required=False, max_length=review.TEXTS["reviewer"], help_text=_("Who reviewed.")
    )
    notes = StrictCharField(required=False, max_length=review.TEXTS["notes"])

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(review.ITEMS), key=str)
            if unknown:
                raise serializers.ValidationError(
                    {str(item): [_("Not an item of the pre-stream review.")] for item in unknown}
                )
        return dict(super().to_internal_value(data))


class GoLiveIn(serializers.Serializer):
    """The fields' rules only. Whether the ids exist is learnt in the gate's one read
    (services.session_gate); the hot path (api/golive.py) takes its limits from here."""

    room_id = serializers.IntegerField()
    anchor_ids = serializers.ListField(
        child=serializers.IntegerField(), min_length=1, max_length=20
    )
    product_ids = serializers.ListField(
        child=serializers.IntegerField(), required=False, default=list, max_length=500
    )
    ai_generated = serializers.BooleanField(
        default=False, help_text=_("The stream carries the AI-generated label (LCM Art. 37).")
    )
    pre_stream_checklist = PreStreamReviewIn(
        help_text=_(
            "The pre-stream review (LCM Art. 30): whether the scripts and the set were reviewed "
            "(both must be true to go live), and optionally the products, who reviewed, notes."
        )
    )


class ReasonOut(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    party_id = serializers.IntegerField(required=False)
    product_id = serializers.IntegerField(required=False)


class RefusedOut(serializers.Serializer):
    allowed = serializers.BooleanField()
    reasons = ReasonOut(many=True)


class SessionAnchorOut(serializers.ModelSerializer):
    class Meta:
        model = SessionAnchor
        fields = ["anchor_id", "name", "id_number_masked", "is_ai_presenter"]


class SessionProductOut(serializers.ModelSerializer):
    class Meta:
        model = SessionProduct
        fields = ["product_id", "merchant_id"]


class SessionOut(serializers.ModelSerializer):
    anchors = SessionAnchorOut(many=True, read_only=True)
    products = SessionProductOut(many=True, read_only=True)
    room_id = serializers.IntegerField(read_only=True)
    owner_id = serializers.IntegerField(
        read_only=True,
        help_text=_(
            "The operator: the room's owner when the session went live, who answers for it "
            "after the room changes hands."
        ),
    )

    class Meta:
        model = LiveSession
        fields = [
            "id",
            "room_id",
            "owner_id",
            "status",
            "started_at",
            "ended_at",
            "ended_reason",
            "ai_generated",
            "content_label",
            "pre_stream_checklist",
            "anchors",
            "products",
        ]


class EndIn(serializers.Serializer):
    reason = StrictCharField(max_length=200, required=False, default="ended by the platform")


# A listing's price in fen, at most 100 million yuan: a bound on what a listing update can
# claim, far above any product shown in a live room, and well inside a 64-bit integer.
MAX_PRICE_FEN = 10_000_000_000


class SignalIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=SignalKind.choices)
    # With its UTC offset: signals are ordered by it.
    at = AwareDateTimeField()
    # Kept as sent, spaces included: an alert's offsets point into the text the platform holds.
    text = StrictCharField(
        max_length=4000, required=False, allow_blank=True, default="", trim_whitespace=False
    )
    title = StrictCharField(
        max_length=500, required=False, allow_blank=True, default="", trim_whitespace=False
    )
    price_fen = StrictIntegerField(
        required=False, min_value=0, max_value=MAX_PRICE_FEN, allow_null=True
    )
    reference_price_fen = StrictIntegerField(
        required=False, min_value=0, max_value=MAX_PRICE_FEN, allow_null=True
    )

    def validate(self, attrs):
        if attrs["kind"] == "listing":
            if not attrs.get("title", "").strip():
                raise serializers.ValidationError({"title": _("A listing signal has a title.")})
            if attrs.get("price_fen") is None:
                raise serializers.ValidationError({"price_fen": _("A listing has a price.")})
        elif not attrs.get("text", "").strip():
            raise serializers.ValidationError({"text": _("A transcript or chat signal has text.")})
        return attrs


class SignalsIn(serializers.Serializer):
    signals = SignalIn(many=True, min_length=1, max_length=500)


class ClipIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["video", "graphic", "audio"])
    platform_ref = StrictCharField(max_length=64)
    ai_generated = serializers.BooleanField(default=False)


class ClipOut(serializers.Serializer):
    session_id = serializers.IntegerField()
    kind = serializers.CharField()
    platform_ref = serializers.CharField()
    identifier = serializers.UUIDField()
    ai_generated = serializers.BooleanField()


class AlertOut(FieldsBuiltOnce, serializers.ModelSerializer):
    rule = serializers.CharField(source="rule.code", read_only=True)
    rule_version = serializers.IntegerField(source="rule.version", read_only=True)
    category = serializers.CharField(source="rule.category", read_only=True)
    legal_basis = serializers.CharField(source="rule.legal_basis", read_only=True)

    class Meta:
        model = Alert
        fields = [
            "id",
            "session_id",
            "rule",
            "rule_version",
            "category",
            "severity",
            "legal_basis",
            "signal_kind",
            "excerpt",
            "start",
            "end",
            "stream_at",
            "raised_at",
            "status",
        ]


class SignalsOut(serializers.Serializer):
    alerts = AlertOut(many=True, help_text=_("The alerts the batch raised; empty if none."))
    replayed = serializers.BooleanField(
        help_text=_(
            "True when the same batch had been received before: the alerts are those it raised "
            "then, and nothing new was raised."
        )
    )
