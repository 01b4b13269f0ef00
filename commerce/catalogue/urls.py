from django.urls import path

from commerce.catalogue import views

app_name = "catalogue"
urlpatterns = [
    path("shop/", views.shop, name="shop"),
    path("shop/<slug:slug>/", views.category, name="category"),
    path("products/<slug:slug>/", views.product, name="product"),
]
