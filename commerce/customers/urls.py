from django.contrib.auth import views as auth_views
from django.urls import path

from commerce.customers import views
from commerce.orders import views as order_views

app_name = "account"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("signup/", views.signup, name="signup"),
    path("addresses/<int:address_id>/delete/", views.address_delete, name="address_delete"),
    path("orders/<str:number>/", order_views.order_detail, name="order"),
    path("orders/<str:number>/returns/<int:line_id>/", order_views.return_line, name="return_line"),
]
