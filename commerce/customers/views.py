from axes.helpers import get_cool_off
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from commerce.customers.forms import SignupForm
from commerce.customers.models import Address
from commerce.customers.services import customer_for, delete_address


def safe_next(request, candidate: str | None = None) -> str | None:
    """``candidate`` (default: ?next=) if it stays on this site, else None: no open redirects."""
    url = candidate if candidate is not None else request.GET.get("next")
    allowed = url_has_allowed_host_and_scheme(url, {request.get_host()}, require_https=request.is_secure())
    return url if url and allowed else None


class LoginView(auth_views.LoginView):
    template_name = "customers/login.html"
    redirect_authenticated_user = True


def login_locked_out(request, original_response, credentials):
    """What django-axes answers instead of a login form (``AXES_LOCKOUT_CALLABLE``), at the shop's and the
    Wagtail admin's login: too many wrong passwords for this account or from this address."""
    minutes = max(1, round(get_cool_off(request).total_seconds() / 60))
    return render(request, "customers/locked_out.html", {"minutes": minutes, "login_url": request.path},
                  status=429)


def signup(request):
    if request.user.is_authenticated:
        return redirect("account:overview")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(safe_next(request) or "account:overview")
    return render(request, "customers/signup.html", {"form": form})


@login_required
def overview(request):
    customer = customer_for(request.user)
    orders = Paginator(customer.orders.prefetch_related("lines"), 10).get_page(request.GET.get("page"))
    return render(request, "customers/overview.html", {"customer": customer, "orders": orders,
                                                       "addresses": customer.addresses.all()})


@login_required
@require_POST
def address_delete(request, address_id):
    address = get_object_or_404(Address, pk=address_id, customer=customer_for(request.user))
    delete_address(address)
    messages.success(request, "Address deleted.")
    return redirect("account:overview")
