"""Baselines for bench/gate.py, served by gunicorn beside the product in the same run.

    gunicorn bare_wsgi:application --pythonpath bench ...   (from the project's root)

The product has no bare view, and the benchmark must not add one to it, so this module builds
Django with the product's own settings (production under the bench's environment: the same
middleware stack, database, cache and REST framework defaults) and swaps only ROOT_URLCONF for
the URLconf below, before django.setup(). Its views are under the API's prefix, /api/v1/, so
that they pass through the middleware an API request passes through, not the heavier stack of a
page (the browser's middleware -- sessions, login, messages, the page policy -- leave the API
out: config/middleware.py):

  POST /api/v1/bare/  a plain Django view answering JsonResponse({"ok": True}) through the
                      middleware stack. It is csrf_exempt, as every REST framework view is, so
                      it takes the same POST with the same body and headers as the gate. No
                      database, no cache.
  POST /api/v1/sql/   the same plain view plus one query (SELECT 1) through Django's
                      connection: the floor for anything that reads the database once per
                      request.
  POST /api/v1/floor/ the same plain view plus what any recorded decision must do at the least:
                      a read of the body's room by primary key, then a durable write, an
                      INSERT of a row like a refusal's (the room, the time, the request as
                      JSON) committed before the answer. Both statements go as the gate's do
                      (liverooms/prepared.py): prepared once per connection, the read standing
                      in for Django's health check. It writes to `bench_floor`, a table of the
                      benchmark's own (bench/gate.py, FLOOR_TABLE). No authentication, no
                      checks, no serializer: what is left when the gate's own logic costs
                      nothing.
  POST /api/v1/drf/   a REST framework APIView with the project's default authentication (the
                      Bearer API key look-up), permission (scopes) and throttling (per key, in
                      Redis), and no work of its own: what the API costs before the gate runs.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

import json  # noqa: E402

import django  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402

settings.ROOT_URLCONF = __name__
django.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from liverooms import prepared  # noqa: E402


@csrf_exempt
def bare(request):
    return JsonResponse({"ok": True})


@csrf_exempt
def one_query(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return JsonResponse({"ok": True})


FLOOR_READ = "SELECT id, owner_id FROM liverooms_liveroom WHERE id = %s"
FLOOR_WRITE = "INSERT INTO bench_floor (room_id, at, body) VALUES (%s, now(), %s::jsonb)"


@csrf_exempt
def read_and_write(request):
    body = request.body.decode("utf-8")
    room_id = json.loads(body)["room_id"]
    rows = prepared.read(FLOOR_READ, prepared.params([room_id]))
    with prepared.cursor() as cursor:
        cursor.execute(FLOOR_WRITE, [*prepared.params([rows[0][0]]), body])
    return JsonResponse({"ok": True, "owner_id": rows[0][1]})


class AuthOnly(APIView):
    """The project's REST defaults (key look-up, scopes, throttle) and nothing else."""

    required_scopes = ["live:write"]

    def post(self, request):
        return Response({"ok": True})


urlpatterns = [
    path("api/v1/bare/", bare),
    path("api/v1/sql/", one_query),
    path("api/v1/floor/", read_and_write),
    path("api/v1/drf/", AuthOnly.as_view()),
]

application = get_wsgi_application()
