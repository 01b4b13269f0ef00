"""Project-level views."""

import time

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django_redis import get_redis_connection

from vitrine.celery import HEARTBEAT_KEY


@never_cache
def healthz(request):
    """For load balancers and operators. 200 while the database answers, else 503; Redis and the worker
    are reported but not required, because the shop serves pages without them (from the database)."""
    report, status = {}, 200
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        report["database"] = "ok"
    except DatabaseError as error:
        report["database"], status = f"unavailable: {type(error).__name__}", 503
    try:
        get_redis_connection("default").ping()
        report["redis"] = "ok"
    except Exception as error:  # any client error means the same to the caller: no cache, no queue
        report["redis"] = f"unavailable: {type(error).__name__}"
    last_beat = cache.get(HEARTBEAT_KEY)
    report["worker_heartbeat_age_seconds"] = round(time.time() - last_beat, 1) if last_beat else None
    return JsonResponse(report, status=status)


@csrf_exempt  # it changes nothing; a CSRF refusal would be an HTML page
def api_not_found(request, *args, **kwargs):
    """Any other URL under /api/v1/: a JSON 404 like the API's own, not the shop's HTML page."""
    return JsonResponse({"detail": "No such API endpoint."}, status=404)
