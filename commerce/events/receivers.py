"""Shop signals → behavioural events. Commerce apps send signals; this module records them."""

from django.dispatch import receiver

from commerce.catalogue.signals import product_viewed
from commerce.customers.signals import visitor_identified
from commerce.events.models import EventType
from commerce.events.services import link_visitor, record
from commerce.orders.signals import cart_changed, order_placed, return_requested


def _session_key(request) -> str:
    session = getattr(request, "session", None)
    return (session.session_key or "") if session is not None else ""


@receiver(product_viewed, dispatch_uid="events_record_view")
def record_view(sender, product, customer, visitor_id, price, request=None, **kwargs):
    record(EventType.VIEW, customer_id=customer.pk if customer else None, visitor_id=visitor_id,
           product_id=product.pk, price=price, surface="product_page", session_id=_session_key(request))


@receiver(cart_changed, dispatch_uid="events_record_cart_change")
def record_cart_change(sender, customer, visitor_id, product, quantity, price, **kwargs):
    record(EventType.ADD_TO_CART if quantity > 0 else EventType.REMOVE_FROM_CART,
           customer_id=customer.pk if customer else None, visitor_id=visitor_id, product_id=product.pk,
           quantity=abs(quantity), price=price, surface="cart")


@receiver(order_placed, dispatch_uid="events_record_purchase")
def record_purchase(sender, order, **kwargs):
    for line in order.lines.all():
        record(EventType.PURCHASE, customer_id=order.customer_id, visitor_id=order.visitor_id,
               product_id=line.product_id, quantity=line.quantity, price=line.unit_price, surface="checkout",
               experiments=order.experiments)


@receiver(return_requested, dispatch_uid="events_record_return")
def record_return(sender, return_, **kwargs):
    order = return_.line.order
    record(EventType.RETURN, customer_id=order.customer_id, visitor_id=order.visitor_id,
           product_id=return_.line.product_id, quantity=return_.quantity, price=return_.line.unit_price,
           surface="account")


@receiver(visitor_identified, dispatch_uid="events_link_visitor")
def link_visitor_at_login(sender, customer, visitor_id, **kwargs):
    link_visitor(customer.pk, visitor_id)
