"""``manage.py seed_experiments``: the demo's first A/B experiments, as drafts to start from the admin."""

from django.core.management.base import BaseCommand
from django.db import transaction
from wagtail.models import Site

from ai.experiments.models import Experiment, Metric, Surface, Variant

DEMO_EXPERIMENTS = [
    {"key": "home-carousel-personalised", "name": "Home carousel: personalised vs trending",
     "hypothesis": "A row picked for each shopper earns more clicks than the same trending row for everyone.",
     "surface": Surface.RECOMMENDATION_BLOCK, "primary_metric": Metric.RECOMMENDATION_CTR,
     "variants": [("trending", "Trending (control)", "trending", True),
                  ("personalised", "Personalised", "personalised", False)]},
    {"key": "base-price-holdout", "name": "Dynamic prices vs a base-price holdout",
     "hypothesis": "Demand-driven prices earn a higher average order value than the base prices, without "
                   "lowering conversion: shoppers held at base prices show by how much.",
     "surface": Surface.PRICING, "primary_metric": Metric.AVERAGE_ORDER_VALUE,
     "variants": [("dynamic", "Dynamic price (control)", "dynamic", True), ("base", "Base price", "base", False)]},
]


class Command(BaseCommand):
    help = ("Demo experiments, as drafts, unless experiments exist: the home page's first carousel "
            "(personalised vs trending; chosen in that block) and store-wide pricing (dynamic vs base). "
            "Start one from its results page (Experiments → Results → Start).")

    @transaction.atomic
    def handle(self, **options):
        if Experiment.objects.exists():
            self.stdout.write("Experiments exist; kept them.")
            return
        created = {}
        for spec in DEMO_EXPERIMENTS:
            fields = {key: value for key, value in spec.items() if key != "variants"}
            experiment = Experiment.objects.create(minimum_sample_size=1000, **fields)
            Variant.objects.bulk_create([
                Variant(experiment=experiment, key=key, name=name, strategy=strategy, is_control=control, weight=50,
                        sort_order=order)
                for order, (key, name, strategy, control) in enumerate(spec["variants"])])
            created[experiment.surface] = experiment
        placed = self.place_in_home_carousel(created[Surface.RECOMMENDATION_BLOCK])
        self.stdout.write("Created draft experiments: " + ", ".join(e.name for e in created.values())
                          + (f"; chosen in the carousel “{placed}” of the home page." if placed else "."))

    def place_in_home_carousel(self, experiment: Experiment) -> str | None:
        site = Site.objects.filter(is_default_site=True).select_related("root_page").first()
        home = site.root_page.specific if site else None
        carousel = next((child for child in getattr(home, "body", None) or [] if child.block_type == "recommendations"),
                        None)
        if carousel is None:
            return None
        carousel.value["experiment"] = experiment
        home.save_revision().publish()
        return carousel.value["title"]
