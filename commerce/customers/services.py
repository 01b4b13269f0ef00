"""Who is shopping: the anonymous visitor id every request carries, and the customer behind a login."""

import uuid

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest

from commerce.customers.models import Customer

VISITOR_COOKIE = "vitrine_vid"
VISITOR_COOKIE_MAX_AGE = 365 * 24 * 3600


def customer_for(user: AbstractBaseUser | None) -> Customer | None:
    """The user's Customer (created on first need), or None for anonymous users."""
    if user is None or not user.is_authenticated:
        return None
    customer = getattr(user, "_vitrine_customer", None)
    if customer is None:
        customer, _ = Customer.objects.get_or_create(user=user)
        user._vitrine_customer = customer
    return customer


def visitor_id(request: HttpRequest) -> uuid.UUID:
    """The visitor UUID VisitorMiddleware put on the request (a fresh one outside the middleware)."""
    if not hasattr(request, "visitor_id"):
        request.visitor_id = uuid.uuid4()
    return request.visitor_id


def parse_visitor_id(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None
