from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplaintsConfig(AppConfig):
    name = "complaints"
    verbose_name = _("Complaints, reports and evaluations")

    def ready(self) -> None:
        from complaints import risk  # noqa: F401  registers the room-risk factor
