"""Orders and returns in the Wagtail admin: filterable lists, an order's lines on its inspect page."""

from wagtail import hooks
from wagtail.admin.panels import FieldPanel
from wagtail.admin.viewsets.base import ViewSetGroup
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import register_permission_policy

from commerce.orders.models import Order, Return


class CreatedByCheckoutPolicy(ModelPermissionPolicy):
    """Orders and returns come from the shop, never from a blank admin form: nobody may "add" one."""

    def user_has_permission(self, user, action):
        return action != "add" and super().user_has_permission(user, action)

    def user_has_any_permission(self, user, actions):
        return any(self.user_has_permission(user, action) for action in actions)


register_permission_policy(Order, CreatedByCheckoutPolicy(Order))
register_permission_policy(Return, CreatedByCheckoutPolicy(Return))


class OrderViewSet(ModelViewSet):
    model = Order
    icon = "list-ul"
    menu_label = "Orders"
    list_display = ["number", "full_name", "email", "total", "status", "created_at"]
    list_filter = {"status": ["exact"], "created_at": ["gte", "lte"]}
    search_fields = ["number", "email", "full_name"]
    inspect_view_enabled = True
    inspect_view_fields = ["number", "customer", "email", "full_name", "line1", "line2", "city", "postcode",
                           "country", "status", "currency", "total", "price_list", "created_at"]
    panels = [FieldPanel("status")]  # totals, lines and addresses are history: only the status moves
    list_per_page = 50


class ReturnViewSet(ModelViewSet):
    model = Return
    icon = "undo"
    menu_label = "Returns"
    list_display = ["line", "quantity", "reason", "status", "created_at"]
    list_filter = {"status": ["exact"], "reason": ["exact"]}
    search_fields = ["line__title", "line__order__number"]
    panels = [FieldPanel("status"), FieldPanel("note")]
    list_per_page = 50


class ShopGroup(ViewSetGroup):
    items = (OrderViewSet, ReturnViewSet)
    menu_icon = "list-ul"
    menu_label = "Orders"
    menu_name = "orders"
    menu_order = 210


@hooks.register("register_admin_viewset")
def register_order_viewsets():
    return ShopGroup()
