from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.api.files import (
    FileOut,
    PhoneField,
    revalidate_nested_in_full,
    validate_id_number,
)
from accounts.models import Party, PartyKind
from anchors.checks import ADULT_AGE, age_on
from anchors.models import AnchorProfile, GuardianConsent, Qualification, Topic
from anchors.services import GuardianData, QualificationData
from config.api.fields import IdField, bound_party_id
from merchants.api.serializers import BusinessIn, BusinessOut


class QualificationSerializer(serializers.ModelSerializer):
    document_id = IdField(required=False, allow_null=True)

    class Meta:
        model = Qualification
        fields = ["topic", "name", "number", "document_id"]


class GuardianIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    relation = serializers.CharField(max_length=50)
    id_number = serializers.CharField(write_only=True, validators=[validate_id_number])
    document_id = IdField(required=False, allow_null=True)


class GuardianOut(serializers.ModelSerializer):
    name = serializers.CharField(source="guardian_name")
    id_number_masked = serializers.CharField(source="guardian_id_masked")

    class Meta:
        model = GuardianConsent
        fields = ["name", "relation", "id_number_masked", "document_id"]


def party_of_kind(kind: str):
    def lookup(value: int) -> Party:
        party = Party.objects.filter(pk=value, kind=kind).first()
        if party is None:
            raise serializers.ValidationError(
                _("No %(kind)s with id %(id)s.") % {"kind": PartyKind(kind).label, "id": value}
            )
        return party

    return lookup


class AnchorIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    id_number = serializers.CharField(
        write_only=True,
        validators=[validate_id_number],
        help_text=_("Resident ID number; stored encrypted, shown masked."),
    )
    birth_date = serializers.DateField(
        required=False,
        help_text=_(
            "Optional; must agree with the ID number. Never shown back: the profile gives the "
            "age instead."
        ),
    )
    habitual_residence = serializers.CharField(max_length=300)
    contact_phone = PhoneField()
    contact_email = serializers.EmailField(required=False, allow_blank=True)
    job_title = serializers.CharField(max_length=100, required=False, allow_blank=True)
    topics = serializers.ListField(
        child=serializers.ChoiceField(choices=Topic.choices), required=False, max_length=4
    )
    qualifications = QualificationSerializer(many=True, required=False, max_length=10)
    guardian = GuardianIn(required=False, allow_null=True)
    is_ai_presenter = serializers.BooleanField(required=False, default=False)
    ai_operator_id = IdField(
        required=False,
        allow_null=True,
        help_text=_(
            "The party that operates the AI presenter. Named by the platform's keys; a key bound "
            "to a party may only send the one already named."
        ),
    )
    agency_id = serializers.IntegerField(required=False, allow_null=True)
    platform_ref = serializers.CharField(max_length=64, required=False, allow_blank=True)

    IMMUTABLE = ("id_number", "birth_date", "platform_ref", "agency_id")

    def validate_ai_operator_id(self, value):
        if bound_party_id(self) is not None:
            # The operator is another party, and who operates an AI presenter is the platform's
            # to say (LCM Art. 37). A bound key naming a new one is refused before any lookup,
            # the same for an id that exists and one that does not: were it looked up, the
            # refusal of a missing id and the 200 showing an existing one would tell every
            # party id apart.
            file = self.context.get("file")
            profile = getattr(file, "anchor_profile", None)
            if value != (profile.ai_operator_id if profile else None):
                raise serializers.ValidationError(
                    _(
                        "A key bound to a party cannot change who operates the AI presenter; "
                        "the platform's key names the operator."
                    )
                )
        if value is None:
            return None
        party = Party.objects.filter(pk=value).first()
        if party is None:
            raise serializers.ValidationError(_("No party with this id."))
        return party

    def validate_agency_id(self, value):
        return None if value is None else party_of_kind(PartyKind.AGENCY)(value)

    def validate(self, attrs):
        if self.partial:
            fixed = [name for name in self.IMMUTABLE if name in attrs]
            if fixed:
                raise serializers.ValidationError(
                    {name: _("This cannot change through this endpoint.") for name in fixed}
                )
            return revalidate_nested_in_full(
                self,
                attrs,
                {
                    "qualifications": (QualificationSerializer, True),
                    "guardian": (GuardianIn, False),
                },
            )
        from anchors.services import identity_from_id_number

        birth, _sex = identity_from_id_number(attrs["id_number"])
        if attrs.get("birth_date") and attrs["birth_date"] != birth:
            raise serializers.ValidationError(
                {"birth_date": _("The birth date does not match the ID number.")}
            )
        if birth > timezone.localdate():
            raise serializers.ValidationError({"id_number": _("The birth date is in the future.")})
        # Refused at the door: no account under 16 (Minors Protection Law Art. 76).
        if age_on(birth, timezone.localdate()) < 16:
            raise serializers.ValidationError(
                {"id_number": _("Anchors must be at least 16 years old.")}
            )
        if attrs.get("is_ai_presenter") and not attrs.get("ai_operator_id"):
            raise serializers.ValidationError(
                {"ai_operator_id": _("Name the party that operates the AI presenter.")}
            )
        return attrs


def guardian_from(data) -> GuardianData | None:
    return None if data is None else GuardianData(**data)


def qualifications_from(data) -> list[QualificationData]:
    return [QualificationData(**item) for item in data]


# No birth date here: digits 7-14 of an ID number are the birth date, and beside the first and
# last four that the mask shows it would leave two digits to guess and the check digit to weed
# them out (about three candidates). Age and minority are what the platform acts on: no account
# under 16, a guardian's consent at 16 and 17 (anchors.checks).
class AnchorProfileOut(serializers.ModelSerializer):
    age = serializers.SerializerMethodField(help_text=_("Whole years on today's date in China."))
    is_minor = serializers.SerializerMethodField(
        help_text=_(
            "Under 18 on today's date in China: the anchor streams only with a guardian's consent."
        )
    )

    class Meta:
        model = AnchorProfile
        fields = [
            "age",
            "is_minor",
            "sex",
            "job_title",
            "topics",
            "is_ai_presenter",
            "ai_operator_id",
        ]

    def get_age(self, obj) -> int:
        # TIME_ZONE is Asia/Shanghai and nothing activates another: today's date in Beijing.
        return age_on(obj.birth_date, timezone.localdate())

    def get_is_minor(self, obj) -> bool:
        return self.get_age(obj) < ADULT_AGE


class AnchorOut(FileOut):
    id_number_masked = serializers.CharField(read_only=True)
    profile = AnchorProfileOut(source="anchor_profile", read_only=True)
    qualifications = QualificationSerializer(many=True, read_only=True)
    guardian = GuardianOut(source="guardian_consent", read_only=True, allow_null=True, default=None)
    agency_id = serializers.SerializerMethodField()

    class Meta(FileOut.Meta):
        fields = [
            *FileOut.Meta.common_fields,
            "id_number_masked",
            "profile",
            "qualifications",
            "guardian",
            "agency_id",
        ]

    def get_agency_id(self, obj) -> int | None:
        current = [m for m in obj.party.agency_memberships.all() if m.ended_at is None]
        return current[0].agency_id if current else None


class AgencyIn(BusinessIn):
    entity_type = serializers.ChoiceField(
        choices=[
            ("enterprise", _("Enterprise")),
            ("individual_business", _("Individual business")),
        ],
        default="enterprise",
    )
    merchant_ids = serializers.ListField(
        child=IdField(),
        required=False,
        max_length=1000,
        help_text=_(
            "Merchants the agency works with and has verified, added to those already linked. "
            "Linked by the platform's keys; a key bound to a party may only send merchants "
            "already linked."
        ),
    )

    def validate_merchant_ids(self, value):
        wanted = list(dict.fromkeys(value))
        if bound_party_id(self) is not None:
            # An agency's own key does not link merchants: a link is the agency's word that it
            # works with a merchant, and the platform checks that word (LCM Arts. 38-45) before
            # it stands. A bound key naming a merchant not yet linked is refused before any
            # lookup, the same for an id that exists and one that does not: were it looked up,
            # the refusal of a missing id and the 200 listing an existing one would tell every
            # merchant id apart.
            file = self.context.get("file")
            linked = set(
                file.party.agency_merchants.filter(ended_at__isnull=True).values_list(
                    "merchant_id", flat=True
                )
                if file is not None
                else ()
            )
            if not set(wanted) <= linked:
                raise serializers.ValidationError(
                    _(
                        "A key bound to a party cannot link merchants to it; the platform's key "
                        "links the merchants an agency has verified."
                    )
                )
        # One query for the lot, however many (up to 1000).
        found = {
            party.pk: party
            for party in Party.objects.filter(pk__in=wanted, kind=PartyKind.MERCHANT)
        }
        missing = [pk for pk in wanted if pk not in found]
        if missing:
            raise serializers.ValidationError(
                [
                    _("No %(kind)s with id %(id)s.") % {"kind": PartyKind.MERCHANT.label, "id": pk}
                    for pk in missing
                ]
            )
        return [found[pk] for pk in wanted]


class AgencyOut(BusinessOut):
    anchor_ids = serializers.SerializerMethodField()
    merchant_ids = serializers.SerializerMethodField()

    class Meta(BusinessOut.Meta):
        fields = [*BusinessOut.Meta.fields, "anchor_ids", "merchant_ids"]

    def get_anchor_ids(self, obj) -> list[int]:
        return sorted(m.anchor_id for m in obj.party.managed_anchors.all() if m.ended_at is None)

    def get_merchant_ids(self, obj) -> list[int]:
        return sorted(m.merchant_id for m in obj.party.agency_merchants.all() if m.ended_at is None)
