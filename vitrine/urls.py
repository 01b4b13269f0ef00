from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from ai.pricing.api import PriceView
from ai.recommendations.api import RecommendationView
from ai.search.api import SearchView
from commerce.events.api import EventBeaconView
from vitrine.views import api_not_found, healthz

api_v1 = [
    path("events", EventBeaconView.as_view(), name="events"),
    path("search", SearchView.as_view(), name="search"),
    path("recommendations", RecommendationView.as_view(), name="recommendations"),
    path("prices/<int:product_id>", PriceView.as_view(), name="price"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularRedocView.as_view(url_name="api:schema"), name="docs"),
    re_path(r"", api_not_found),  # last: a JSON 404 for any other API URL (or a malformed id)
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", include((api_v1, "api"))),
    path("admin/", include(wagtailadmin_urls)),
    path("django-admin/", admin.site.urls),
    path("documents/", include(wagtaildocs_urls)),
    path("account/", include("commerce.customers.urls")),
    path("", include("blocks.urls")),
    path("", include("ai.search.urls")),
    path("", include("commerce.orders.urls")),
    path("", include("commerce.catalogue.urls")),
]

if settings.SERVE_MEDIA:
    urlpatterns.append(re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}))

urlpatterns.append(path("", include(wagtail_urls)))  # Wagtail's page tree catches everything else
