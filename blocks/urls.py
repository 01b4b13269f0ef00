from django.urls import path

from blocks import views

app_name = "blocks"
urlpatterns = [
    path("fragments/<int:page_id>/<str:block_id>/", views.block_fragment, name="fragment"),
]
