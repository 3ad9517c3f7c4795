from accounts.api.files import FileViewSet
from accounts.models import PartyKind
from merchants import services
from merchants.api.serializers import BusinessIn, BusinessOut, licences_from


def create_business_file(*, kind: str, data: dict, actor):
    """A merchant's or an agency's file from the validated API body."""
    return services.business_file_create(
        kind=kind,
        entity_type=data["entity_type"],
        name=data["name"],
        credit_code=data.get("unified_social_credit_code", ""),
        id_number=data.get("id_number", ""),
        representative=data["representative"],
        organisation_form=data.get("organisation_form", ""),
        registered_address=data.get("registered_address", ""),
        address=data["business_address"],
        contact_phone=data["contact_phone"],
        contact_email=data.get("contact_email", ""),
        categories=data.get("categories", []),
        licences=licences_from(data.get("licences", [])),
        platform_ref=data.get("platform_ref", ""),
        actor=actor,
    )


def split_business_changes(data: dict) -> dict:
    """The validated PATCH body, split for business_file_update."""
    changes = {
        name: data[source]
        for name, source in (
            ("name", "name"),
            ("contact_phone", "contact_phone"),
            ("contact_email", "contact_email"),
            ("address", "business_address"),
        )
        if source in data
    }
    profile = {name: data[name] for name in services.PROFILE_FIELDS if name in data}
    licences = licences_from(data["licences"]) if "licences" in data else None
    return {"changes": changes, "profile_changes": profile, "licences": licences}


class MerchantViewSet(FileViewSet):
    """Merchant registration files (ECL Art. 27, LCM Art. 8)."""

    kind = PartyKind.MERCHANT
    input_serializer = BusinessIn
    output_serializer = BusinessOut
    select = ("merchant_profile",)
    prefetch = ("licences",)

    def perform_create_file(self, data):
        return create_business_file(kind=self.kind, data=data, actor=self.actor())

    def perform_update_file(self, file, data):
        return services.business_file_update(
            file=file, actor=self.actor(), **split_business_changes(data)
        )
