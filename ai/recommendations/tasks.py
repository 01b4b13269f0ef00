"""Thin Celery wrappers over the write side (``training``, ``refresh``, ``neighbours``); each takes ids,
re-fetches and is safe to repeat. Each task imports its write-side module in its body: receivers in web
processes import this module to queue tasks, and must not load scipy and implicit with it."""

import logging
import uuid

from celery import shared_task
from django.core.cache import cache

from ai.recommendations.serving import VISITOR_PENDING_KEY
from commerce.customers.models import Customer

logger = logging.getLogger(__name__)

TRAINING_LOCK_KEY = "recs:training-lock"
TRAINING_LOCK_SECONDS = 3600  # longer than any training run; a crashed run frees it after an hour


@shared_task(ignore_result=True)
def train_recommendations():
    """Beat (batch queue): retrain and precompute. A run still in progress makes this one a no-op."""
    from ai.recommendations import training

    lock = cache.lock(TRAINING_LOCK_KEY, timeout=TRAINING_LOCK_SECONDS)
    if not lock.acquire(blocking=False):
        logger.info("recommendations: training already running; skipped")
        return
    try:
        training.train_recommendations()
    finally:
        lock.release()


@shared_task(ignore_result=True)
def refresh_customer_recommendations(customer_id: int):
    """Realtime queue: a customer added to their cart; recompute their list by fold-in."""
    from ai.recommendations import refresh

    if Customer.objects.filter(pk=customer_id).exists():
        refresh.refresh_customer_recommendations(customer_id)


@shared_task(ignore_result=True)
def refresh_visitor_recommendations(visitor_id: str, customer_id: int | None = None):
    """Realtime queue: a visitor viewed products or added to their cart (``customer_id``: signed in, so
    the cart is the customer's); recompute their session list. A refresh clears the view burst's claim:
    later views queue the next one."""
    from ai.recommendations import refresh

    cache.delete(VISITOR_PENDING_KEY.format(visitor_id))
    refresh.refresh_visitor_recommendations(uuid.UUID(visitor_id), customer_id=customer_id)


@shared_task(ignore_result=True)
def compute_product_neighbours():
    """Beat (batch queue): embedding-based similar products for products that lack a fresh list."""
    from ai.recommendations import neighbours

    neighbours.compute_embedding_neighbours(
        neighbours.products_needing_neighbours(neighbours.EMBEDDING_NEIGHBOURS_BATCH_SIZE))
