from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LiveroomsConfig(AppConfig):
    name = "liverooms"
    verbose_name = _("Live rooms")
