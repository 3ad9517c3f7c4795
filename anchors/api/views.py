from django.db import transaction

from accounts.api.files import FileViewSet
from accounts.models import PartyKind
from anchors import services
from anchors.api.serializers import (
    AgencyIn,
    AgencyOut,
    AnchorIn,
    AnchorOut,
    guardian_from,
    qualifications_from,
)
from merchants.api.views import create_business_file, split_business_changes
from merchants.services import business_file_update


class AnchorViewSet(FileViewSet):
    """Anchor registration files (LCM Art. 8 ¶2), with age, guardian consent and qualifications."""

    kind = PartyKind.ANCHOR
    input_serializer = AnchorIn
    output_serializer = AnchorOut
    select = ("anchor_profile", "guardian_consent")
    prefetch = ("qualifications", "party__agency_memberships")

    def perform_create_file(self, data):
        return services.anchor_file_create(
            name=data["name"],
            id_number=data["id_number"],
            birth_date=data.get("birth_date"),
            address=data["habitual_residence"],
            contact_phone=data["contact_phone"],
            contact_email=data.get("contact_email", ""),
            job_title=data.get("job_title", ""),
            topics=data.get("topics", []),
            qualifications=qualifications_from(data.get("qualifications", [])),
            guardian=guardian_from(data.get("guardian")),
            is_ai_presenter=data.get("is_ai_presenter", False),
            ai_operator=data.get("ai_operator_id"),
            agency=data.get("agency_id"),
            platform_ref=data.get("platform_ref", ""),
            actor=self.actor(),
        )

    def perform_update_file(self, file, data):
        changes = {
            name: data[source]
            for name, source in (
                ("name", "name"),
                ("contact_phone", "contact_phone"),
                ("contact_email", "contact_email"),
                ("address", "habitual_residence"),
            )
            if source in data
        }
        profile = {n: data[n] for n in ("job_title", "topics", "is_ai_presenter") if n in data}
        if "ai_operator_id" in data:
            profile["ai_operator"] = data["ai_operator_id"]
        return services.anchor_file_update(
            file=file,
            actor=self.actor(),
            changes=changes,
            profile_changes=profile,
            qualifications=(
                qualifications_from(data["qualifications"]) if "qualifications" in data else None
            ),
            guardian=guardian_from(data["guardian"]) if "guardian" in data else ...,
        )


class AgencyViewSet(FileViewSet):
    """Agency (MCN) files: an enterprise's file, with the anchors and merchants it works with."""

    kind = PartyKind.AGENCY
    input_serializer = AgencyIn
    output_serializer = AgencyOut
    select = ("merchant_profile",)
    prefetch = ("licences", "party__managed_anchors", "party__agency_merchants")

    @transaction.atomic
    def perform_create_file(self, data):
        file = create_business_file(kind=self.kind, data=data, actor=self.actor())
        services.agency_link_merchants(
            agency=file.party, merchants=data.get("merchant_ids", []), actor=self.actor()
        )
        return file

    @transaction.atomic
    def perform_update_file(self, file, data):
        file = business_file_update(file=file, actor=self.actor(), **split_business_changes(data))
        services.agency_link_merchants(
            agency=file.party, merchants=data.get("merchant_ids", []), actor=self.actor()
        )
        return file
