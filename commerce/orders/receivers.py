"""The cart hand-over at login: what orders does when commerce.customers identifies a visitor."""

from django.dispatch import receiver

from commerce.customers.signals import visitor_identified
from commerce.orders.services import merge_visitor_cart


@receiver(visitor_identified, dispatch_uid="orders_merge_cart_at_login")
def merge_cart_at_login(sender, customer, visitor_id, **kwargs):
    merge_visitor_cart(customer, visitor_id)
