from django.core.management.base import BaseCommand
from tqdm import tqdm

from ai.recommendations.training import train_recommendations


class Command(BaseCommand):
    help = ("Train the recommendation model on the last 90 days of events, precompute every customer's "
            "top-N and the product-page lists, and publish them to Redis (what the 4-hourly beat task does).")

    def handle(self, **options):
        bars: dict[str, tqdm] = {}

        def progress(stage: str, done: int, total: int):
            bar = bars.get(stage)
            if bar is None:
                bar = bars[stage] = tqdm(total=total, desc=stage, disable=not self.stdout.isatty())
            bar.update(done - bar.n)

        model = train_recommendations(progress=progress)
        for bar in bars.values():
            bar.close()
        if model is None:
            self.stdout.write(self.style.WARNING("No customer interactions in the window: nothing trained; "
                                                 "shoppers keep seeing popular products."))
            return
        self.stdout.write(self.style.SUCCESS(
            f"Model {model.version}: {model.customers} customers × {model.products} products, "
            f"{model.interactions} interactions; trained in {model.training_seconds:.1f} s, precomputed in "
            f"{model.precompute_seconds:.1f} s; {model.customers_with_recommendations} customers have lists, "
            f"catalogue coverage {model.catalogue_coverage:.1%}."))
