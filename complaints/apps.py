from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplaintsConfig(AppConfig):
    name = "complaints"
    verbose_name = _("Complaints, reports and evaluations")

    def ready(self) -> None:
        from complaints import (
            credit_events,
            risk,  # noqa: F401  registers the room-risk factor
        )
        from complaints.services import on_case_decided

        # Upheld complaints count against the party's credit (RULES.md §6).
        on_case_decided(credit_events.case_decided)
