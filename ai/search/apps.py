from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "ai.search"
    label = "search"
    verbose_name = "Search"

    def ready(self):
        from ai.search import receivers  # noqa: F401  (re-index products on save)
