"""Thin Celery wrappers over the pricing engine (batch queue); each is safe to repeat. The engine's modules
(``pipeline``, ``training``: scikit-learn) are imported inside the tasks, so the web process, which only
enqueues them, never loads them."""

from celery import shared_task

from ai.pricing import review
from ai.pricing.models import PricingRule


@shared_task(ignore_result=True)
def refresh_prices():
    """Beat, every 30 minutes: demand signals, then prices. A repeat in the same 30-minute slot
    recomputes the same signals and decides nothing twice."""
    from ai.pricing import pipeline

    return pipeline.run_pricing()


@shared_task(ignore_result=True)
def train_demand_model():
    """Beat, daily: retrain the demand model once there is enough history (a no-op until then)."""
    from ai.pricing import training

    training.train_demand_model()


@shared_task(ignore_result=True)
def enforce_rule_bounds(rule_id: int):
    """A rule was saved: products it governs that sell outside its bounds move inside them now."""
    rule = PricingRule.objects.select_related("category").filter(pk=rule_id).first()
    if rule is not None:
        review.enforce_rule_bounds(rule)
