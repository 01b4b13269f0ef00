from django.urls import path

from commerce.orders import views

app_name = "orders"
urlpatterns = [
    path("cart/", views.cart, name="cart"),
    path("cart/add/", views.cart_add, name="cart_add"),
    path("cart/lines/<int:line_id>/", views.cart_line, name="cart_line"),
    path("cart/accept-prices/", views.cart_accept_prices, name="cart_accept_prices"),
    path("checkout/", views.checkout, name="checkout"),
    path("checkout/done/<str:number>/", views.confirmation, name="confirmation"),
]
