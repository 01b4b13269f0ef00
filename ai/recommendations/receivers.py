"""Shop signals that make recommendations fresher: an add-to-cart refreshes the shopper's list (the
customer's, or an anonymous visitor's session list) at once; any change of their cart and every order
retire their personal rows; product views refresh an anonymous visitor's
session list (debounced, once the views are stored); a saved product's embedding-based "similar" list
is marked for recomputation; a saved or deleted recommendation rule applies from the next request."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from ai.recommendations import neighbours, rules, serving, tasks
from ai.recommendations.models import RecommendationRule
from commerce.catalogue.models import Product
from commerce.catalogue.signals import product_viewed
from commerce.orders.signals import cart_changed, order_placed
from core.queueing import enqueue


@receiver(cart_changed, dispatch_uid="recommendations_refresh_on_add_to_cart")
def refresh_after_add_to_cart(sender, customer, visitor_id, quantity, **kwargs):
    # cart_changed is sent after the cart commits, so the task sees the new line: no delay, unlike views.
    if quantity <= 0:
        return
    if customer is not None:
        enqueue(tasks.refresh_customer_recommendations, customer.pk)
    if visitor_id:
        # A signed-in shopper's session list too: it is what they are served while they have no list of
        # their own (no model yet, a stale one, or none of their products known to it).
        enqueue(tasks.refresh_visitor_recommendations, str(visitor_id), customer.pk if customer else None)


@receiver(cart_changed, dispatch_uid="recommendations_retire_rows_on_cart_change")
def retire_rows_after_cart_change(sender, customer, visitor_id, **kwargs):
    # Any change, removals too: rules may leave out what is in the cart.
    serving.retire_shopper_rows(customer.pk if customer else None, visitor_id)


@receiver(order_placed, dispatch_uid="recommendations_retire_rows_on_order")
def retire_rows_after_order(sender, order, **kwargs):
    # Rules may leave out what the shopper ordered lately.
    serving.retire_shopper_rows(order.customer_id, order.visitor_id)


@receiver(product_viewed, dispatch_uid="recommendations_refresh_session_on_view")
def refresh_session_after_view(sender, product, customer, visitor_id, **kwargs):
    # One refresh per burst of views, after the drain has stored them (the beat drains every 2 s).
    if visitor_id and serving.claim_visitor_refresh(visitor_id):
        enqueue(tasks.refresh_visitor_recommendations, str(visitor_id), countdown=serving.VISITOR_REFRESH_DELAY)


@receiver(post_save, sender=Product, dispatch_uid="recommendations_forget_neighbours_on_save")
def forget_neighbours_after_save(sender, instance, raw=False, **kwargs):
    # Its text may have changed: its embedding-based "similar" list is recomputed by the next beat run.
    if not raw:
        transaction.on_commit(lambda: neighbours.forget_product_neighbours(instance.pk))


@receiver(post_save, sender=RecommendationRule, dispatch_uid="recommendations_rules_saved")
@receiver(post_delete, sender=RecommendationRule, dispatch_uid="recommendations_rules_deleted")
def recommendation_rules_changed(sender, raw=False, **kwargs):
    # After the commit (the rule's products and categories are saved with it), or a concurrent request
    # could cache the old table under the new generation.
    if not raw:
        transaction.on_commit(rules.forget)
