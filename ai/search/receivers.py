"""Keep the search index in step with the catalogue, and attribute purchases to searches."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from ai.search import tasks
from ai.search.serving import mark_conversions
from commerce.catalogue.models import Category, Product
from commerce.catalogue.signals import products_bulk_changed
from commerce.orders.signals import order_placed
from core.queueing import enqueue


@receiver(post_save, sender=Product, dispatch_uid="search_index_product_on_save")
def product_saved(sender, instance, raw=False, **kwargs):
    if not raw:
        enqueue(tasks.index_product, instance.pk)


@receiver(post_save, sender=Category, dispatch_uid="search_reembed_category_on_save")
def category_saved(sender, instance, created, raw=False, **kwargs):
    if not raw and not created:
        enqueue(tasks.reembed_category, instance.pk)


@receiver(order_placed, dispatch_uid="search_mark_conversions")
def order_converts_searches(sender, order, **kwargs):
    mark_conversions(order.visitor_id, order.customer_id, list(order.lines.values_list("product_id", flat=True)))


@receiver(products_bulk_changed, dispatch_uid="search_reembed_bulk_changes")
def products_changed_in_bulk(sender, product_ids, **kwargs):
    enqueue(tasks.reembed_products, list(product_ids))
