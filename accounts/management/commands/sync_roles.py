from django.core.management.base import BaseCommand

from accounts import roles


class Command(BaseCommand):
    help = "Make the role groups' permissions match the grants in code (migrate does this too)."

    def handle(self, **options):
        roles.sync_roles()
        self.stdout.write(f"Synced {len(roles.ROLES)} roles.")
