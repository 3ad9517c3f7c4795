from pathlib import Path

import polib
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Compile every .po file under LOCALE_PATHS to .mo with polib, so that a machine without "
        "GNU gettext can build the translations."
    )

    def handle(self, **options):
        count = 0
        for base in settings.LOCALE_PATHS:
            for po_path in sorted(Path(base).glob("*/LC_MESSAGES/*.po")):
                catalogue = polib.pofile(str(po_path))
                broken = [e.msgid for e in catalogue if e.fuzzy]
                if broken:
                    raise CommandError(f"{po_path} has fuzzy entries: {broken[:3]} …")
                catalogue.save_as_mofile(str(po_path.with_suffix(".mo")))
                count += 1
        self.stdout.write(f"Compiled {count} catalogues.")
