from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    name = "commerce.catalogue"
    label = "catalogue"
    verbose_name = "Catalogue"

    def ready(self):
        from commerce.catalogue import signals  # noqa: F401  (cache invalidation receivers)
