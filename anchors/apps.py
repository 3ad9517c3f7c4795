from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnchorsConfig(AppConfig):
    name = "anchors"
    verbose_name = _("Anchors and agencies")

    def ready(self) -> None:
        from accounts import registration
        from accounts.models import PartyKind
        from anchors import checks  # noqa: F401 - registers the anchors' entry checks
        from anchors.services import agency_details, anchor_details

        registration.register_file_kind(
            registration.FileKind(
                kind=PartyKind.ANCHOR, snapshot=anchor_details, check_details=anchor_details
            )
        )
        registration.register_file_kind(
            registration.FileKind(
                kind=PartyKind.AGENCY, snapshot=agency_details, check_details=agency_details
            )
        )
