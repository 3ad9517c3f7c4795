from django.core.management.base import BaseCommand, CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.demo import DEMO_DEVICE_NAME, current_code
from accounts.models import User


class Command(BaseCommand):
    help = (
        "Print the current TOTP code of a demo account's device. Works only for devices that "
        "seed_demo created; real devices live in their owners' authenticator apps."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, username, **options):
        user = User.objects.filter(username=username).first()
        if user is None or not TOTPDevice.objects.filter(user=user, name=DEMO_DEVICE_NAME).exists():
            raise CommandError(f"{username!r} has no demo TOTP device.")
        self.stdout.write(current_code(user))
