from importlib import import_module

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction


class Command(BaseCommand):
    help = (
        "Load demo data: each app's demo.py, in layer order. Safe to run again -- what exists is "
        "kept. Prints how to sign in and, on the last line, a fresh API key."
    )

    def handle(self, **options):
        context: dict = {}
        with transaction.atomic():
            for app_config in apps.get_app_configs():
                try:
                    module = import_module(f"{app_config.name}.demo")
                except ModuleNotFoundError as exc:
                    if exc.name != f"{app_config.name}.demo":
                        raise
                    continue
                module.seed(context=context, out=self.stdout)
        # The key is made last so that it is the last line, as the README promises.
        from accounts.demo import issue_api_key

        self.stdout.write(issue_api_key())
