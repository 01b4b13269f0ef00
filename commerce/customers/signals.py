"""Identity hand-over at login: anything keyed on the anonymous visitor id now belongs to the customer.

``visitor_identified`` is sent with (customer, visitor_id, request) after every login; the cart merges
on it here and commerce.events links the visitor's events on it.
"""

import uuid

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import Signal, receiver

from commerce.customers.services import customer_for

visitor_identified = Signal()


@receiver(user_logged_in, dispatch_uid="customers_identify_visitor")
def identify_visitor(sender, request, user, **kwargs):
    visitor = getattr(request, "visitor_id", None)
    customer = customer_for(user)
    if visitor is not None and customer is not None:
        visitor_identified.send(sender=customer.__class__, customer=customer, visitor_id=visitor, request=request)


@receiver(user_logged_out, dispatch_uid="customers_new_visitor_after_logout")
def new_visitor_after_logout(sender, request, **kwargs):
    if request is not None:
        request.visitor_id = uuid.uuid4()
