from django.apps import AppConfig


class PricingConfig(AppConfig):
    name = "ai.pricing"
    label = "pricing"
    verbose_name = "Pricing"

    def ready(self):
        from ai.pricing import receivers  # noqa: F401  (enforce a rule's bounds when it is saved)
