"""Thin Celery wrappers over ai.recommendations.services; each takes ids, re-fetches and is safe to repeat."""

import logging
import uuid

from celery import shared_task
from django.core.cache import cache

from ai.recommendations import services
from commerce.customers.models import Customer

logger = logging.getLogger(__name__)

TRAINING_LOCK_KEY = "recs:training-lock"
TRAINING_LOCK_SECONDS = 3600  # longer than any training run; a crashed run frees it after an hour


@shared_task(ignore_result=True)
def train_recommendations():
    """Beat (batch queue): retrain and precompute. A run still in progress makes this one a no-op."""
    lock = cache.lock(TRAINING_LOCK_KEY, timeout=TRAINING_LOCK_SECONDS)
    if not lock.acquire(blocking=False):
        logger.info("recommendations: training already running; skipped")
        return
    try:
        services.train_recommendations()
    finally:
        lock.release()


@shared_task(ignore_result=True)
def refresh_customer_recommendations(customer_id: int):
    """Realtime queue: a customer added to their cart; recompute their list by fold-in."""
    if Customer.objects.filter(pk=customer_id).exists():
        services.refresh_customer_recommendations(customer_id)


@shared_task(ignore_result=True)
def refresh_visitor_recommendations(visitor_id: str):
    """Realtime queue: an anonymous visitor viewed products; recompute their session list."""
    cache.delete(services.VISITOR_PENDING_KEY.format(visitor_id))
    services.refresh_visitor_recommendations(uuid.UUID(visitor_id))


@shared_task(ignore_result=True)
def compute_product_neighbours():
    """Beat (batch queue): embedding-based similar products for products that lack a fresh list."""
    services.compute_embedding_neighbours(
        services.products_needing_neighbours(services.EMBEDDING_NEIGHBOURS_BATCH_SIZE))
