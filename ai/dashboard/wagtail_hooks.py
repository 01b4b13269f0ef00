from django.contrib.auth.models import Permission
from django.urls import path, reverse
from wagtail import hooks

from ai.dashboard.services import VIEW_PERMISSION
from ai.dashboard.views import DashboardView, QueueTaskView
from core.admin_menu import MerchandisingMenu, PermittedMenuItem


@hooks.register("register_admin_urls")
def storefront_ai_urls():
    # Wagtail wraps these in its admin access check (wagtailadmin.access_admin); the views check the rest.
    return [
        path("storefront-ai/", DashboardView.as_view(), name="storefront_ai_dashboard"),
        path("storefront-ai/queue/<slug:action>/", QueueTaskView.as_view(), name="storefront_ai_queue"),
    ]


@hooks.register("register_admin_menu_item")
def storefront_ai_menu_item():
    return PermittedMenuItem("Storefront AI", reverse("storefront_ai_dashboard"), permission=VIEW_PERMISSION,
                             name="storefront-ai",
                             icon_name="crosshairs", order=210)


@hooks.register("register_admin_viewset")
def merchandising_menu():
    return MerchandisingMenu()


@hooks.register("register_permissions")
def storefront_ai_permissions():
    """List the dashboard's two permissions in Wagtail's group editor."""
    return Permission.objects.filter(content_type__app_label="dashboard",
                                     codename__in=["view_dashboard", "queue_ai_tasks"])
