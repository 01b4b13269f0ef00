from wagtail import hooks
from wagtail.admin.viewsets.model import ModelViewSet

from commerce.customers.models import Customer


class CustomerViewSet(ModelViewSet):
    model = Customer
    icon = "user"
    menu_label = "Customers"
    menu_order = 220
    add_to_admin_menu = True
    list_display = ["__str__", "email", "created_at", "accepts_marketing"]
    list_filter = {"accepts_marketing": ["exact"], "created_at": ["gte", "lte"]}
    search_fields = ["user__email", "user__first_name", "user__last_name", "user__username"]
    form_fields = ["accepts_marketing"]
    inspect_view_enabled = True
    list_per_page = 50


@hooks.register("register_admin_viewset")
def register_customer_viewset():
    return CustomerViewSet("customers")
