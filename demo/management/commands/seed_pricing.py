"""``manage.py seed_pricing``: the demo's first dynamic-pricing rules, and a first pricing run on request."""

from decimal import Decimal

from django.core.management.base import BaseCommand

from ai.pricing.models import PricingRule
from ai.pricing.pipeline import run_pricing
from commerce.catalogue.models import Category

GUARDRAILS = {
    "max_discount_percent": Decimal("15"),
    "max_markup_percent": Decimal("15"),
    "max_change_percent": Decimal("5"),
    "interval_hours": 24,
}


class Command(BaseCommand):
    help = ("Give dynamic pricing demo rules unless rules exist: a global default (within 15% of the base "
            "price, at most 5% a day, applied at once) and, for the first department, the same bounds with "
            "every change waiting for an editor's approval. With --run, price once now instead of waiting "
            "for the 30-minute beat.")

    def add_arguments(self, parser):
        parser.add_argument("--run", action="store_true", help="run the pricing engine once afterwards")

    def handle(self, run, **options):
        if PricingRule.objects.exists():
            self.stdout.write("Pricing rules exist; kept them.")
        else:
            PricingRule.objects.create(name="Global default", auto_approve_percent=Decimal("5"), **GUARDRAILS)
            department = Category.objects.filter(parent=None).order_by("name").first()
            if department is not None:
                PricingRule.objects.create(name=f"{department.name}: approve every change", category=department,
                                           auto_approve_percent=Decimal("0"), **GUARDRAILS)
            self.stdout.write("Created the demo pricing rules: "
                              + ", ".join(PricingRule.objects.values_list("name", flat=True)) + ".")
        if run:
            summary = run_pricing()
            self.stdout.write("Pricing run: " + ", ".join(f"{key} {value}" for key, value in summary.items()))
