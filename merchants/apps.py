from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MerchantsConfig(AppConfig):
    name = "merchants"
    verbose_name = _("Merchants")

    def ready(self) -> None:
        from accounts import registration
        from accounts.models import PartyKind
        from merchants import checks  # noqa: F401 - registers the merchants' entry checks
        from merchants.services import business_details

        registration.register_file_kind(
            registration.FileKind(
                kind=PartyKind.MERCHANT, snapshot=business_details, check_details=business_details
            )
        )
