from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "commerce.orders"
    label = "orders"
    verbose_name = "Orders"

    def ready(self):
        from commerce.orders import receivers  # noqa: F401  (cart merge at login)
