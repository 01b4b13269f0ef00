"""Keep the search index in step with the catalogue, the synonyms and the query rules, and attribute purchases
to searches."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from ai.search import rules, synonyms, tasks
from ai.search.models import QueryRule, Synonym
from ai.search.retrieval import bump_index_version
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


@receiver(post_save, sender=Synonym, dispatch_uid="search_synonyms_saved")
@receiver(post_delete, sender=Synonym, dispatch_uid="search_synonyms_deleted")
def synonyms_changed(sender, raw=False, **kwargs):
    # After the commit, or a concurrent search could cache the old table again.
    if not raw:
        transaction.on_commit(retire_synonyms)


def retire_synonyms():
    """Drop the cached synonym table and bump the index version: result lists and fragments cached with
    the old synonyms retire at once."""
    synonyms.forget()
    bump_index_version()


@receiver(post_save, sender=QueryRule, dispatch_uid="search_query_rules_saved")
@receiver(post_delete, sender=QueryRule, dispatch_uid="search_query_rules_deleted")
def query_rules_changed(sender, raw=False, **kwargs):
    # After the commit (the rule's products are saved with it), or a concurrent search could cache the old table.
    if not raw:
        transaction.on_commit(retire_query_rules)


def retire_query_rules():
    """Drop the cached rule table and retire result lists cached with the old rules."""
    rules.forget()
    bump_index_version()
