from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.reports import Period, as_csv, as_xlsx


class Command(BaseCommand):
    help = (
        "Write the January/July identity report of merchants and anchors for the provincial "
        "regulator (LCM Art. 9). It contains full ID numbers: keep the output safe."
    )

    def add_arguments(self, parser):
        parser.add_argument("--period", help="2026H1 or 2026H2; default: the last completed half")
        parser.add_argument("--format", choices=["csv", "xlsx"], default="xlsx")
        parser.add_argument("--output", required=True, help="the file to write")

    def handle(self, period, format, output, **options):
        try:
            chosen = Period.parse(period) if period else Period.last_completed()
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        content = as_xlsx(chosen) if format == "xlsx" else as_csv(chosen)
        Path(output).write_bytes(content)
        self.stdout.write(f"Wrote {output} for {chosen.start} to {chosen.end}.")
