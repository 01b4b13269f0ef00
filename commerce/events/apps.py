from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "commerce.events"
    label = "events"
    verbose_name = "Behavioural events"

    def ready(self):
        from commerce.events import receivers  # noqa: F401  (records shop signals as events)
