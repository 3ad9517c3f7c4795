from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.api.files import (
    FileOut,
    PhoneField,
    revalidate_nested_in_full,
    validate_credit_code,
    validate_id_number,
)
from config.api.fields import IdField
from merchants.models import Category, EntityType, Licence, LicenceKind, MerchantProfile
from merchants.services import LicenceData


class LicenceSerializer(serializers.ModelSerializer):
    document_id = IdField(required=False, allow_null=True)

    class Meta:
        model = Licence
        fields = ["kind", "number", "issuer", "valid_from", "valid_until", "document_id"]

    def validate(self, attrs):
        until, start = attrs.get("valid_until"), attrs.get("valid_from")
        if until and start and until < start:
            raise serializers.ValidationError(
                {"valid_until": _("The licence ends before it starts.")}
            )
        return attrs


class BusinessIn(serializers.Serializer):
    """A merchant's file; an agency's file uses the same fields as an enterprise."""

    entity_type = serializers.ChoiceField(choices=EntityType.choices)
    name = serializers.CharField(max_length=200)
    unified_social_credit_code = serializers.CharField(
        required=False, allow_blank=True, validators=[validate_credit_code]
    )
    id_number = serializers.CharField(
        required=False,
        allow_blank=True,
        write_only=True,
        validators=[validate_id_number],
        help_text=_("For an unregistered natural person only; stored encrypted."),
    )
    representative = serializers.CharField(max_length=100)
    organisation_form = serializers.CharField(max_length=50, required=False, allow_blank=True)
    registered_address = serializers.CharField(max_length=300, required=False, allow_blank=True)
    business_address = serializers.CharField(max_length=300)
    contact_phone = PhoneField()
    contact_email = serializers.EmailField(required=False, allow_blank=True)
    categories = serializers.ListField(
        child=serializers.ChoiceField(choices=Category.choices), required=False, max_length=20
    )
    licences = LicenceSerializer(many=True, required=False, max_length=20)
    platform_ref = serializers.CharField(max_length=64, required=False, allow_blank=True)

    IMMUTABLE = ("entity_type", "unified_social_credit_code", "id_number", "platform_ref")

    def validate(self, attrs):
        if self.partial:
            fixed = [name for name in self.IMMUTABLE if name in attrs]
            if fixed:
                raise serializers.ValidationError(
                    {name: _("This cannot change; register a new party instead.") for name in fixed}
                )
            return revalidate_nested_in_full(self, attrs, {"licences": (LicenceSerializer, True)})
        natural = attrs["entity_type"] == EntityType.NATURAL_PERSON
        if natural and not attrs.get("id_number"):
            raise serializers.ValidationError(
                {"id_number": _("An unregistered natural person gives a resident ID number.")}
            )
        if not natural and not attrs.get("unified_social_credit_code"):
            raise serializers.ValidationError(
                {"unified_social_credit_code": _("A registered business gives its credit code.")}
            )
        if natural and attrs.get("unified_social_credit_code"):
            raise serializers.ValidationError(
                {"unified_social_credit_code": _("A natural person has no credit code.")}
            )
        if not natural and attrs.get("id_number"):
            raise serializers.ValidationError(
                {"id_number": _("A registered business is identified by its credit code.")}
            )
        return attrs


def licences_from(data) -> list[LicenceData]:
    return [LicenceData(**item) for item in data]


class MerchantProfileOut(serializers.ModelSerializer):
    class Meta:
        model = MerchantProfile
        fields = [
            "entity_type",
            "representative",
            "organisation_form",
            "registered_address",
            "categories",
        ]


class BusinessOut(FileOut):
    unified_social_credit_code = serializers.CharField(source="credit_code", read_only=True)
    id_number_masked = serializers.CharField(read_only=True)
    profile = MerchantProfileOut(source="merchant_profile", read_only=True)
    licences = LicenceSerializer(many=True, read_only=True)

    class Meta(FileOut.Meta):
        fields = [
            *FileOut.Meta.common_fields,
            "unified_social_credit_code",
            "id_number_masked",
            "profile",
            "licences",
        ]


__all__ = [
    "BusinessIn",
    "BusinessOut",
    "LicenceKind",
    "licences_from",
]
