from django_otp import devices_for_user
from django_otp.admin import OTPAdminAuthenticationForm


class WorkbenchAuthenticationForm(OTPAdminAuthenticationForm):
    """The admin's sign-in: password, then the code from the user's authenticator.

    django-otp asks the user to pick a device from a list; staff here have one authenticator
    each, so when exactly one confirmed device exists it is used without asking.
    """

    def _chosen_device(self, user):
        device = super()._chosen_device(user)
        if device is None:
            devices = list(devices_for_user(user, confirmed=True))
            if len(devices) == 1:
                device = devices[0]
        return device
