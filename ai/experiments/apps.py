from django.apps import AppConfig


class ExperimentsConfig(AppConfig):
    name = "ai.experiments"
    label = "experiments"
    verbose_name = "Experiments"

    def ready(self):
        from ai.experiments import receivers  # noqa: F401  (assignments at login, cache invalidation)
