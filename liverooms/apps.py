from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LiveroomsConfig(AppConfig):
    name = "liverooms"
    verbose_name = _("Live rooms")

    def ready(self) -> None:
        from accounts import services
        from liverooms import credit_gate  # noqa: F401 - registers the credit-grade check
        from liverooms.services import regrade_rooms_of, terminate_sessions_of

        # A restriction that bars a party from the air ends its sessions (live.terminate).
        services.on_restriction_imposed(terminate_sessions_of)
        # Any restriction is part of the party's compliance record, which grades its rooms.
        services.on_restriction_imposed(regrade_rooms_of)
        services.on_restriction_reversed(regrade_rooms_of)
