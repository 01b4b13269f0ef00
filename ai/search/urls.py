from django.urls import path

from ai.search import views

app_name = "search"
urlpatterns = [
    path("search/", views.search_page, name="search"),
    path("search/suggest", views.search_suggestions, name="suggest"),
    path("search/click/<int:query_id>/<int:product_id>/", views.search_click, name="click"),
]
