"""Keep the search index in step with the catalogue, the synonyms and the query rules, and attribute purchases
to searches."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from ai.search import retrieval, rules, synonyms, tasks
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


# Synonyms, query rules and the category tree's departments: each save or delete retires its cached table
# (``caching.CachedTable.changed``).
for table in (synonyms.table, rules.table, retrieval.category_departments):
    post_save.connect(table.changed, sender=table.model, dispatch_uid=f"search_{table.name}_saved")
    post_delete.connect(table.changed, sender=table.model, dispatch_uid=f"search_{table.name}_deleted")
