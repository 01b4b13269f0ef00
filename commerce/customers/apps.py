from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "commerce.customers"
    label = "customers"
    verbose_name = "Customers"

    def ready(self):
        from commerce.customers import signals  # noqa: F401  (login linking receivers)
