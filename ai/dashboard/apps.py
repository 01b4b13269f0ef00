from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "ai.dashboard"
    label = "dashboard"
    verbose_name = "Storefront AI dashboard"

    def ready(self):
        # Record Celery task failures. Workers run this too: Celery's Django fix-up calls django.setup()
        # when a worker starts (vitrine.celery loads the settings), which runs every AppConfig.ready().
        from ai.dashboard import receivers  # noqa: F401
