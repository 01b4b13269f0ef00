from django.apps import AppConfig


class HomeConfig(AppConfig):
    name = "home"
    verbose_name = "Storefront pages"

    def ready(self):
        from home import restrictions, sites

        sites.connect_receivers()
        restrictions.connect_receivers()
