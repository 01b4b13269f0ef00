from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render

from commerce.customers.forms import SignupForm
from commerce.customers.services import customer_for


class LoginView(auth_views.LoginView):
    template_name = "customers/login.html"
    redirect_authenticated_user = True


def signup(request):
    if request.user.is_authenticated:
        return redirect("account:overview")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(request.GET.get("next") or "account:overview")
    return render(request, "customers/signup.html", {"form": form})


@login_required
def overview(request):
    customer = customer_for(request.user)
    orders = Paginator(customer.orders.prefetch_related("lines"), 10).get_page(request.GET.get("page"))
    return render(request, "customers/overview.html", {"customer": customer, "orders": orders,
                                                       "addresses": customer.addresses.all()})
