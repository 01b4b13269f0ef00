"""``manage.py simulate_shoppers``: a realistic behavioural history for the AI features to learn from."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from demo.simulated_shoppers import CatalogueEmpty
from demo.simulation import Simulation


class Command(BaseCommand):
    help = (
        "Simulate shoppers with consistent tastes over the last --days days: customers (users "
        "simulated-<seed>-<i>@example.com, unusable passwords, one address each) and never-logged-in "
        "visitors browse, add to cart, remove, buy (real Order/LineItem rows at the product's current "
        "price) and return; a share of sessions start anonymous and log in. Events go in through the bulk "
        "ingest path (store_events). Stock is NOT decremented: this is simulated history. Deterministic "
        "for a --seed. A rerun with the same seed reuses its customers and leaves shoppers that already "
        "have history alone (nothing is added twice); --replace deletes the seed's simulated history "
        "first and generates it again ending now. Needs a catalogue (manage.py seed_demo)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=500,
                            help="Customers to simulate (default 500).")
        parser.add_argument("--days", type=int, default=60,
                            help="Length of the history in days, ending now (default 60).")
        parser.add_argument("--seed", type=int, default=1, help="Random seed (default 1).")
        parser.add_argument("--anonymous-share", type=float, default=0.3,
                            help="Share of sessions that start anonymous and log in part way; also "
                                 "anonymous-share × customers visitors never log in (default 0.3).")
        parser.add_argument("--sessions-per-day", type=float, default=0.25,
                            help="Mean sessions per customer per day, varied per customer (default 0.25).")
        parser.add_argument("--replace", action="store_true",
                            help="Delete this seed's simulated events, orders and visitor links first.")

    def handle(self, *args, customers, days, seed, anonymous_share, sessions_per_day, replace, **options):
        if customers < 0 or days < 1:
            raise CommandError("--customers must be ≥ 0 and --days ≥ 1.")
        if not 0 <= anonymous_share <= 1:
            raise CommandError("--anonymous-share must be between 0 and 1.")
        if sessions_per_day <= 0:
            raise CommandError("--sessions-per-day must be positive.")
        try:
            sim = Simulation(customers=customers, days=days, seed=seed, anonymous_share=anonymous_share,
                             sessions_per_day=sessions_per_day)
        except CatalogueEmpty as error:
            raise CommandError(str(error)) from error

        total = customers + round(customers * anonymous_share)
        quiet = True if options["verbosity"] == 0 else None  # None: no bar unless on a terminal
        with tqdm(total=total, unit="shopper", desc="simulating", disable=quiet, smoothing=0.1) as bar:
            summary = sim.run(replace=replace, progress=bar.update)

        write = self.stdout.write
        if summary.deleted:
            write("Replaced: deleted " + ", ".join(f"{n:,} {what}" for what, n in summary.deleted.items()))
        write(f"Customers: {customers:,} ({summary.customers_created:,} created, "
              f"{summary.customers_reused:,} reused); anonymous visitors: {summary.anonymous_visitors:,}")
        if summary.shoppers_skipped:
            write(f"Left alone {summary.shoppers_skipped:,} shoppers that already had history "
                  f"(pass --replace to regenerate it).")
        write(f"Sessions: {summary.sessions:,}; visitors linked at login: {summary.linked_visitors:,}")
        write(f"Events: {summary.events_total:,} generated, {summary.events_inserted:,} inserted")
        for event_type, count in sorted(summary.events.items(), key=lambda item: -item[1]):
            write(f"  {event_type:<18} {count:>12,}")
        write(f"Orders: {summary.orders:,} ({summary.line_items:,} lines, {summary.revenue:,} revenue); "
              f"returns: {summary.returns:,}")
        rate = summary.events_total / summary.seconds if summary.seconds else 0
        write(self.style.SUCCESS(f"Done in {summary.seconds:.1f} s ({rate:,.0f} events/s)."))
