from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from commerce.catalogue.models import Product, ProductVariant
from commerce.customers.experiments import experiment_tags
from commerce.customers.services import customer_for
from commerce.customers.views import safe_next
from commerce.orders.forms import AddToCartForm, CartLineForm, CheckoutForm, ReturnForm
from commerce.orders.models import CartLine, LineItem, Order
from commerce.orders.services import (
    CartError,
    PriceChanged,
    accept_current_prices,
    add_to_cart,
    cart_contents,
    place_order,
    request_return,
    set_line_quantity,
    shopper_for,
)

PRICES_CHANGED = "Some prices changed since you added them. Please review them first."


def cart(request):
    contents = cart_contents(shopper_for(request))
    return render(request, "orders/cart.html", {"cart": contents})


@require_POST
def cart_accept_prices(request):
    accept_current_prices(shopper_for(request))
    messages.success(request, "Your cart now shows today's prices; checkout charges exactly these.")
    return redirect("orders:cart")


@require_POST
def cart_add(request):
    form = AddToCartForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a product and a quantity between 1 and 99.")
        return redirect(safe_next(request, request.META.get("HTTP_REFERER", "")) or "orders:cart")
    product = get_object_or_404(Product, pk=form.cleaned_data["product"])
    variant = None
    if form.cleaned_data.get("variant"):
        variant = get_object_or_404(ProductVariant, pk=form.cleaned_data["variant"], product=product)
    try:
        add_to_cart(shopper_for(request), product, variant, form.cleaned_data["quantity"])
    except CartError as error:
        messages.error(request, str(error))
        return redirect(product.get_absolute_url())
    messages.success(request, f"Added {product.title} to your cart.")
    return redirect("orders:cart")


@require_POST
def cart_line(request, line_id):
    form = CartLineForm(request.POST)
    shopper = shopper_for(request)
    if not form.is_valid():
        messages.error(request, "Quantity must be a number between 0 and 99.")
        return redirect("orders:cart")
    try:
        set_line_quantity(shopper, line_id, form.cleaned_data["quantity"])
    except CartLine.DoesNotExist:
        messages.error(request, "That item is no longer in your cart.")
    except CartError as error:
        messages.error(request, str(error))
    return redirect("orders:cart")


def checkout(request):
    shopper = shopper_for(request)
    form = _checkout_form(request, shopper.customer)
    if request.method == "POST" and form.is_valid():
        # Straight to place_order, which checks the cart under its lock: a repeated submission (its cart
        # already gone) gets the order the first one placed.
        try:
            order = place_order(shopper, email=form.cleaned_data["email"], address=form.address(),
                                experiments=experiment_tags(request), checkout_key=form.cleaned_data["checkout_key"])
        except PriceChanged:
            messages.warning(request, PRICES_CHANGED)
            return redirect("orders:cart")
        except CartError as error:
            messages.error(request, str(error))
            return redirect("orders:cart")
        request.session["last_order"] = order.number
        return redirect("orders:confirmation", number=order.number)
    contents = cart_contents(shopper)
    if not contents.lines:
        messages.info(request, "Your cart is empty.")
        return redirect("orders:cart")
    if contents.changed_prices:
        messages.warning(request, PRICES_CHANGED)
        return redirect("orders:cart")
    return render(request, "orders/checkout.html", {"cart": contents, "form": form})


def _checkout_form(request, customer) -> CheckoutForm:
    """The checkout form; a customer's starts from their email, name and saved addresses."""
    if customer is None:
        return CheckoutForm(request.POST or None)
    return CheckoutForm(request.POST or None, addresses=list(customer.addresses.all()),
                        initial={"email": customer.email, "full_name": customer.user.get_full_name()})


def confirmation(request, number):
    order = get_object_or_404(Order, number=number)
    # Guests see only the order they just placed; customers only their own.
    customer = customer_for(request.user)
    if request.session.get("last_order") != number and (customer is None or order.customer_id != customer.pk):
        return redirect("account:login")
    return render(request, "orders/confirmation.html", {"order": order, "lines": order.lines.all()})


@login_required
def order_detail(request, number):
    order = get_object_or_404(Order, number=number, customer=customer_for(request.user))
    return render(request, "orders/order_detail.html", {
        "order": order, "lines": order.lines.select_related("product").prefetch_related("returns"),
        "return_form": ReturnForm(),
    })


@login_required
@require_POST
def return_line(request, number, line_id):
    line = get_object_or_404(LineItem, pk=line_id, order__number=number, order__customer=customer_for(request.user))
    form = ReturnForm(request.POST)
    if form.is_valid():
        try:
            request_return(line, **form.cleaned_data)
            messages.success(request, f"Return of {line.title} requested. Its status shows on this page.")
        except CartError as error:
            messages.error(request, str(error))
    else:
        messages.error(request, "Choose a quantity and a reason for the return.")
    return redirect(reverse("account:order", kwargs={"number": number}))
