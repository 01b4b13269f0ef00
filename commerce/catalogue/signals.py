"""Signals the catalogue sends (``product_viewed``) and the cache invalidation it does on save."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal, receiver

from commerce.catalogue.models import Category, Product
from commerce.catalogue.services import forget_navigation, forget_prices

# Sent by the product page with (product, customer, visitor_id, price shown, request); commerce.events
# records it.
product_viewed = Signal()
# Sent after commit with (product_ids, price_changes) when products were written in bulk (no per-row
# post_save), so listeners such as the search index and the price history can catch up; price_changes
# lists (product_id, previous price, price) of the products whose price the write moved.
products_bulk_changed = Signal()


@receiver([post_save, post_delete], sender=Category, dispatch_uid="catalogue_navigation_invalidation")
def category_changed(**kwargs):
    forget_navigation()


@receiver([post_save, post_delete], sender=Product, dispatch_uid="catalogue_price_invalidation")
def product_changed(instance, **kwargs):
    forget_prices([instance.pk])


@receiver(products_bulk_changed, dispatch_uid="catalogue_bulk_price_invalidation")
def products_changed_in_bulk(product_ids, **kwargs):
    forget_prices(product_ids)
