from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EnforcementConfig(AppConfig):
    name = "enforcement"
    verbose_name = _("Enforcement")

    def ready(self) -> None:
        from complaints.services import on_case_decided
        from enforcement import checks  # noqa: F401 - registers the go-live deposit check
        from enforcement.services.violations import raise_from_case, raise_from_inspection
        from liverooms.services import on_inspection_recorded

        # A complaint decided "violation confirmed" and an inspection suspecting one each open
        # a suspected violation for triage (DESIGN flows 2-4).
        on_case_decided(raise_from_case)
        on_inspection_recorded(raise_from_inspection)
