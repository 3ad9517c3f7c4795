from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts import services
from accounts.actors import Actor
from accounts.models import Party
from accounts.scopes import SCOPES


class Command(BaseCommand):
    help = "Create an integrator API key; the key itself is printed once, on the last line."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            choices=sorted(SCOPES),
            help="A scope to grant; repeat for more. Default: every scope.",
        )
        parser.add_argument("--party", type=int, help="Bind the key to this party id.")

    def handle(self, name, scopes, party, **options):
        bound = None
        if party is not None:
            bound = Party.objects.filter(pk=party).first()
            if bound is None:
                raise CommandError(f"No party with id {party}.")
        try:
            key, raw = services.api_key_create(
                name=name,
                scopes=scopes or list(SCOPES),
                party=bound,
                actor=Actor.system("create_api_key"),
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stderr.write(f"Created key {key.name!r} with scopes: {', '.join(key.scopes)}")
        self.stdout.write(raw)
