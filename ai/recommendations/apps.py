from django.apps import AppConfig


class RecommendationsConfig(AppConfig):
    name = "ai.recommendations"
    label = "recommendations"
    verbose_name = "Recommendations"

    def ready(self):
        from ai.recommendations import receivers  # noqa: F401  (refresh a customer's list on add-to-cart)
