import re

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory

from vitrine.middleware import ServerTimingMiddleware

APP_TIMING = re.compile(r"(?:^|, )app;dur=(\d+\.\d+)$")


def test_it_is_the_first_middleware():
    assert settings.MIDDLEWARE[0] == "vitrine.middleware.ServerTimingMiddleware"


@pytest.mark.django_db
def test_every_response_carries_the_app_time_in_milliseconds(client, wagtail_site):
    for path in ("/", "/static/css/vitrine.css", "/no-such-page/"):
        response = client.get(path)
        match = APP_TIMING.search(response["Server-Timing"])
        assert match, (path, response["Server-Timing"])
        assert 0 <= float(match.group(1)) < 60_000


def test_a_server_timing_set_by_the_view_is_kept():
    def view(request):
        response = HttpResponse("ok")
        response["Server-Timing"] = "db;dur=1.5"
        return response

    response = ServerTimingMiddleware(view)(RequestFactory().get("/"))
    assert response["Server-Timing"].startswith("db;dur=1.5, app;dur=")
    assert APP_TIMING.search(response["Server-Timing"])
