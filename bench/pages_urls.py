"""The shop's URLs plus ``/bench/inline/``: the anti-pattern page of ``bench/pages.py`` (recommendations
computed in the request). Mounted only by ``bench.pages_settings``; never part of the shop."""

from django.urls import include, path

from bench.pages import inline_page

urlpatterns = [
    path("bench/inline/", inline_page),
    path("", include("vitrine.urls")),
]
