"""``manage.py import_catalogue FILE``: create or update products from a CSV or JSON Lines file.

    manage.py import_catalogue products.csv
    manage.py import_catalogue feed.ndjson --skip-invalid
    manage.py import_catalogue export.txt --format csv --dry-run

Columns and rules: commerce/catalogue/importer.py and docs/catalogue-data.md.
"""

import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from tqdm import tqdm

from commerce.catalogue.importer import ImportFileError, import_catalogue

MAX_LISTED_ERRORS = 50


class Command(BaseCommand):
    help = "Create or update products from a CSV or JSON Lines file (all rows or none unless --skip-invalid)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="A .csv, .jsonl or .ndjson file (UTF-8).")
        parser.add_argument("--format", choices=["csv", "jsonl"],
                            help="Read the file as this format whatever its extension.")
        parser.add_argument("--skip-invalid", action="store_true",
                            help="Import the valid rows and report the bad ones, instead of importing none.")
        parser.add_argument("--dry-run", action="store_true",
                            help="Only validate the file; write nothing.")

    def handle(self, *args, **options):
        verbosity = options["verbosity"]

        def progress(iterable, **kwargs):
            return tqdm(iterable, disable=None if verbosity >= 1 else True, file=sys.stderr, leave=False,
                        **kwargs)

        try:
            result = import_catalogue(options["file"], format=options["format"],
                                      skip_invalid=options["skip_invalid"], dry_run=options["dry_run"],
                                      progress=progress)
        except ImportFileError as error:
            raise CommandError(str(error)) from error
        except DatabaseError as error:  # the transaction rolled back: nothing was imported
            raise CommandError(f"Nothing was imported: the database refused a write ({error}).") from error

        for warning in result.warnings:
            self.stderr.write(self.style.WARNING(f"Warning: {warning}"))
        for error in result.errors[:MAX_LISTED_ERRORS]:
            self.stderr.write(str(error))
        if len(result.errors) > MAX_LISTED_ERRORS:
            self.stderr.write(f"… and {len(result.errors) - MAX_LISTED_ERRORS} more")

        if result.errors and not options["skip_invalid"]:
            raise CommandError(
                f"{len(result.errors)} invalid row(s) out of {result.rows}: nothing was imported. "
                "Fix them, or run with --skip-invalid to import the valid rows."
            )
        if options["dry_run"]:
            valid = result.rows - len(result.errors)
            self.stdout.write(f"Dry run: {valid} valid row(s), {len(result.errors)} invalid; "
                              "nothing was written.")
            return
        summary = f"Created {result.created}, updated {result.updated}, skipped {result.skipped}."
        if result.categories_created:
            summary += f" New categories: {result.categories_created}."
        self.stdout.write(self.style.SUCCESS(summary) if not result.skipped else self.style.WARNING(summary))
