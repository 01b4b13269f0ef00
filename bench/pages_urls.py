"""The shop's URLs plus ``/bench/inline/``: the anti-pattern page of ``bench/pages.py`` (recommendations
computed in the request), ``/bench/home-without-ai/`` and ``/bench/product-without-rows/<slug>/``: the
home page without its AI blocks and the product page without its recommendation rows. Mounted only by
``bench.pages_settings``; never part of the shop."""

from django.urls import include, path

from bench.pages import home_without_ai, inline_page, product_without_rows

urlpatterns = [
    path("bench/inline/", inline_page),
    path("bench/home-without-ai/", home_without_ai),
    path("bench/product-without-rows/<slug:slug>/", product_without_rows),
    path("", include("vitrine.urls")),
]
