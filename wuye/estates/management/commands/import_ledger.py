"""Import a rooms or owners ledger from the command line: the same checks and all-or-nothing write as the desk page.

manage.py import_ledger --estate cuihu-garden --kind rooms 房屋台账.xlsx [--dry-run]
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from wuye.core.errors import ValidationFailed
from wuye.estates.ledgers import LedgerKind, ledger_import
from wuye.estates.models import Estate


class Command(BaseCommand):
    help = "Import a rooms or owners ledger (CSV or .xlsx) into an estate: every row or none."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="The ledger file (.csv or .xlsx).")
        parser.add_argument("--estate", required=True, help="The estate's id or code.")
        parser.add_argument("--kind", required=True, choices=LedgerKind.values, help="Which ledger the file is.")
        parser.add_argument("--dry-run", action="store_true", help="Check the file and write nothing.")

    def handle(self, *args, file: Path, estate: str, kind: str, dry_run: bool, **options):
        target = self._estate(estate)
        try:
            with file.open("rb") as handle:
                # One byte past the limit is enough for the import to refuse a file that is too big.
                content = handle.read(settings.LEDGER_IMPORT_MAX_BYTES + 1)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}") from None
        try:
            result = ledger_import(estate=target, kind=kind, filename=file.name, content=content, dry_run=dry_run)
        except ValidationFailed as failure:
            self.stderr.write(failure.message)
            self.stderr.write(f"{'row':>6}  {'column':<16}  problem")
            for error in failure.errors:
                row = str(error.row) if error.row is not None else "-"
                self.stderr.write(f"{row:>6}  {error.field:<16}  {error.message}")
            raise CommandError(f"{file.name}: not imported, nothing was changed.", returncode=2) from None
        if dry_run:
            self.stdout.write(f"{file.name}: {result.rows} rows checked, no problems. Nothing was written (dry run).")
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"{file.name}: imported {result.rows} rows into {target.name}: "
                    f"{result.created} created, {result.updated} updated."
                )
            )

    def _estate(self, value: str) -> Estate:
        estates = Estate.objects.select_related("company")
        found = list(estates.filter(pk=int(value))) if value.isdigit() else []
        found = found or list(estates.filter(code=value))
        if not found:
            raise CommandError(f"No estate has the id or code {value!r}.")
        if len(found) > 1:
            choices = ", ".join(f"{estate.id} ({estate.company.name} / {estate.name})" for estate in found)
            raise CommandError(f"Several estates have the code {value!r}; give the id instead: {choices}.")
        return found[0]
