"""Who is shopping: the anonymous visitor id every request carries, and the customer behind a login."""

import uuid

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from commerce.customers.models import Address, Customer

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


@transaction.atomic
def remember_address(customer: Customer, fields: dict) -> Address:
    """Save the address a customer just checked out with as their default: their saved copy of it when
    they have one (compared ignoring case and spacing), else a new one. Raises ValidationError for an
    invalid address. Callers serialise checkouts per customer (checkout holds the cart's row lock)."""
    address = Address(customer=customer, **fields)
    address.clean()
    address = Address.objects.matching(address).first() or address
    address.full_clean(validate_constraints=False)
    customer.addresses.filter(is_default=True).exclude(pk=address.pk).update(is_default=False)
    address.is_default, address.last_used_at = True, timezone.now()
    address.save()
    return address


@transaction.atomic
def delete_address(address: Address) -> None:
    """Delete a saved address; when it was the default, the customer's most recently used one takes over."""
    address.delete()
    if address.is_default:
        successor = address.customer.addresses.order_by("-last_used_at", "-pk").first()
        if successor is not None:
            successor.is_default = True
            successor.save(update_fields=["is_default"])
