from decimal import Decimal

from django.core.management.base import BaseCommand

from ai.pricing import services
from ai.pricing.models import PricingRule

DEMO_RULE = {
    "name": "Global default",
    "max_discount_percent": Decimal("15"),
    "max_markup_percent": Decimal("15"),
    "max_change_percent": Decimal("5"),
    "interval_hours": 24,
    "auto_approve_percent": Decimal("2"),
}


class Command(BaseCommand):
    help = ("Give dynamic pricing a global default rule (within 15% of the base price, at most 5% a day, "
            "changes over 2% wait for approval) unless a global rule exists; with --run, price once now "
            "instead of waiting for the 30-minute beat.")

    def add_arguments(self, parser):
        parser.add_argument("--run", action="store_true", help="run the pricing engine once afterwards")

    def handle(self, run, **options):
        rule, created = PricingRule.objects.get_or_create(product=None, category=None, defaults=DEMO_RULE)
        self.stdout.write(f"{'Created' if created else 'Kept'} the global rule “{rule.name}”.")
        if run:
            summary = services.run_pricing()
            self.stdout.write("Pricing run: " + ", ".join(f"{key} {value}" for key, value in summary.items()))
