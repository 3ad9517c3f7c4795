"""Domain errors shared by every app's services; the API turns them into status codes."""

from django.utils.translation import gettext_lazy as _


class Conflict(Exception):
    """A refused state change: the object is not in a state that allows it (HTTP 409)."""

    default_message = _("The object is not in a state that allows this change.")

    def __init__(self, message=None):
        self.message = message or self.default_message
        super().__init__(str(self.message))
