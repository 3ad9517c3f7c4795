from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CreditConfig(AppConfig):
    name = "credit"
    verbose_name = _("Credit")

    def ready(self) -> None:
        from anchors.services import on_training_recorded
        from credit import checks  # noqa: F401 - registers the entry checks
        from credit.events import training_recorded

        on_training_recorded(training_recorded)
