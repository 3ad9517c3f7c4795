from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts import services
from accounts.actors import Actor


class Command(BaseCommand):
    help = "Register the platform's webhook receiver; the signing secret is printed once, last."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("url")
        parser.add_argument(
            "--topic",
            action="append",
            dest="topics",
            default=[],
            help="A topic to send; repeat for more. Default: every topic.",
        )

    def handle(self, name, url, topics, **options):
        try:
            endpoint, secret = services.webhook_endpoint_create(
                name=name, url=url, topics=topics, actor=Actor.system("create_webhook_endpoint")
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stderr.write(f"Registered {endpoint.name!r} at {endpoint.url}")
        self.stdout.write(secret)
