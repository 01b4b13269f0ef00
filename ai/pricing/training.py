"""Training the demand model on the shop's own history (daily, ``tasks.train_demand_model``) and loading the
current one for the engine. Write side: scikit-learn is imported here."""

import datetime as dt
import logging

from django.utils import timezone

from ai.pricing import demand_model
from ai.pricing.models import DemandModel
from commerce.catalogue.models import Product
from commerce.events.queries import daily_product_activity

logger = logging.getLogger(__name__)

TRAINING_DAYS = 90
KEEP_MODELS = 3


def shop_panel(now: dt.datetime, days: int = TRAINING_DAYS) -> demand_model.Panel:
    """The shop's daily history over the last ``days`` full days, from the events: views and their
    prices (the price shown), add-to-carts and units bought per product and day."""
    end = now.replace(hour=0, minute=0, second=0, microsecond=0)
    by_product: dict[int, list] = {}
    for product_id, *day in daily_product_activity(end - dt.timedelta(days=days), end):
        by_product.setdefault(product_id, []).append(day)
    histories = {pid: demand_model.product_days(days_of, days_of[0][0], days - 1)
                 for pid, days_of in by_product.items()}
    bases = dict(Product.objects.filter(pk__in=list(histories)).values_list("pk", "base_price"))
    return demand_model.build_panel(histories, {pk: float(base) for pk, base in bases.items()})


def train_demand_model(now: dt.datetime | None = None) -> DemandModel | None:
    """Train on the last 90 days once there is enough history (with prices that varied); keep the newest few."""
    panel = shop_panel(now or timezone.now())
    ready, why = demand_model.enough_history(panel)
    if not ready:
        logger.info("demand model not trained: %s", why)
        return None
    trained = demand_model.train(panel)
    stored = store_demand_model(trained, training_rows=len(panel.units))
    logger.info("demand model trained on %s: %s", why, trained.metrics)
    return stored


def store_demand_model(trained: demand_model.TrainedModel, *, training_rows: int) -> DemandModel:
    """Keep a trained model as the current one (and only the newest ``KEEP_MODELS``)."""
    stored = DemandModel.objects.create(training_rows=training_rows, price_ratio_low=trained.price_ratio_low,
                                        price_ratio_high=trained.price_ratio_high, metrics=trained.metrics,
                                        estimator=trained.serialise())
    keep = DemandModel.objects.order_by("-trained_at").values_list("pk", flat=True)[:KEEP_MODELS]
    DemandModel.objects.exclude(pk__in=list(keep)).delete()
    return stored


def latest_model() -> demand_model.TrainedModel | None:
    stored = DemandModel.objects.first()
    return demand_model.TrainedModel.from_stored(stored) if stored else None
