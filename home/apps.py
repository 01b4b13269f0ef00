from django.apps import AppConfig


class HomeConfig(AppConfig):
    name = "home"
    verbose_name = "Storefront pages"

    def ready(self):
        from home.sites import connect_receivers

        connect_receivers()
