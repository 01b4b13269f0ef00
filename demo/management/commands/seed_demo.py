"""``manage.py seed_demo``: a realistic demo shop (catalogue, pictures, pages, shoppers, staff accounts).

    manage.py seed_demo                      # 2,000 products on an empty database
    manage.py seed_demo --if-empty           # what `make demo` runs: does nothing once products exist
    manage.py seed_demo --reset --products 100000 --seed 7
"""

import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import ProtectedError
from tqdm import tqdm

from commerce.catalogue.models import Category, Product, ProductVariant
from demo.accounts import DEMO_PASSWORD, check_staff_passwords, ensure_staff, seed_customers
from demo.catalogue import BATCH_SIZE, index_products, reset_demo, seed_categories, seed_products
from demo.pages import seed_pages


class Command(BaseCommand):
    help = "Fill the database with a realistic demo catalogue, pages, shoppers and staff accounts."

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=2000, help="How many products (default 2000).")
        parser.add_argument("--seed", type=int, default=42,
                            help="Random seed: the same seed, the same catalogue.")
        parser.add_argument("--customers", type=int, default=50, help="How many demo shoppers (default 50).")
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE,
                            help="Rows per bulk insert and per search-index batch (default 2000).")
        parser.add_argument("--no-search-index", action="store_true",
                            help="Skip the Wagtail search index (admin search) to save time on big benchmark "
                                 "catalogues; run `manage.py update_index` later.")
        parser.add_argument("--if-empty", action="store_true",
                            help="Do nothing when the catalogue already has products (for `make demo`).")
        parser.add_argument("--reset", action="store_true",
                            help="First delete every product and category, the demo pictures and shoppers.")

    def handle(self, *args, **options):
        count, seed = options["products"], options["seed"]
        if count < 1:
            raise CommandError("--products must be at least 1.")
        if not 0 <= options["customers"] <= 1000:
            raise CommandError("--customers must be between 0 and 1000.")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        if options["if_empty"] and options["reset"]:
            raise CommandError("--if-empty and --reset contradict each other; use one of them.")

        if Product.objects.exists():
            if options["if_empty"]:
                self.stdout.write(
                    f"The catalogue already has {Product.objects.count():,} products: nothing to do.")
                return
            if not options["reset"]:
                raise CommandError(
                    f"The catalogue already has {Product.objects.count():,} products. Run with --reset to "
                    "replace it (deletes every product and category, the demo pictures and demo shoppers), "
                    "or with --if-empty to leave it alone."
                )

        check_staff_passwords()  # a weak chosen password fails now, not after minutes of seeding
        verbosity = options["verbosity"]

        def progress(iterable, **kwargs):
            # On a terminal only (disable=None), never with -v 0.
            return tqdm(iterable, disable=None if verbosity >= 1 else True, file=sys.stderr, leave=False,
                        **kwargs)

        def say(message):
            if verbosity >= 1:
                self.stdout.write(message)

        started = time.monotonic()
        timings = {}
        with transaction.atomic():
            if options["reset"]:
                mark = time.monotonic()
                try:
                    deleted = reset_demo()
                except ProtectedError as error:
                    raise CommandError(f"Could not delete the old catalogue: {error.args[0]}") from error
                timings["reset"] = time.monotonic() - mark
                say(f"Deleted {deleted['products']:,} products, {deleted['categories']} categories, "
                    f"{deleted['images']} pictures and {deleted['customers']} demo shoppers.")

            mark = time.monotonic()
            categories = seed_categories()
            timings["categories"] = time.monotonic() - mark

            mark = time.monotonic()
            first_pk, last_pk, n_variants = seed_products(
                count, seed, categories, batch_size=options["batch_size"], progress=progress)
            timings["products"] = time.monotonic() - mark

            indexed = 0
            if not options["no_search_index"]:
                mark = time.monotonic()
                indexed = index_products(first_pk, last_pk, batch_size=options["batch_size"], progress=progress)
                timings["search index"] = time.monotonic() - mark

            mark = time.monotonic()
            pages = seed_pages(seed, count)
            customers = seed_customers(options["customers"], seed)
            staff = ensure_staff()  # passwords from VITRINE_ADMIN_PASSWORD etc., else generated
            timings["pages and people"] = time.monotonic() - mark

        elapsed = time.monotonic() - started
        products = Product.objects.all()
        leaves = Category.objects.filter(children__isnull=True).count()
        departments = Category.objects.filter(parent=None).count()
        say(self.style.SUCCESS("Demo shop ready."))
        say(f"  Categories:  {departments} departments, {leaves} categories")
        say(f"  Products:    {products.count():,} ({products.filter(stock=0).count():,} sold out, "
            f"{products.filter(active=False).count():,} inactive), {indexed:,} in the search index")
        say(f"  Variants:    {ProductVariant.objects.count():,} (this run: {n_variants:,})")
        say(f"  Customers:   {customers} new demo shoppers (password \"{DEMO_PASSWORD}\")")
        say(f"  Pages:       {pages} published (home page and editorial pages)")
        say(f"  Time:        {elapsed:.1f} s (" + ", ".join(f"{k} {v:.1f} s" for k,
                                                            v in timings.items()) + ")")

        admin_url = f"{settings.WAGTAILADMIN_BASE_URL.rstrip('/')}/admin/"
        self.stdout.write("")
        self.stdout.write(f"Wagtail admin: {admin_url}")
        for account in staff:
            if account.created:
                self.stdout.write(f"  {account.username:<13} password: {account.password}")
            else:
                self.stdout.write(f"  {account.username:<13} already exists; its password was not changed "
                                  "(`manage.py demo_credentials --reset` sets a new one).")
