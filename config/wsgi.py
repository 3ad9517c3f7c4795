"""The WSGI application that gunicorn serves (README: "Running it").

Django's handler, with the go-live gate's request taken through the middleware flat
(config/handler.py). Django imports the URLconf on the first request a process serves, and with
it the REST framework, drf-spectacular and every app's views: about 0.3 s that the first request
to each new worker waited for (bench/README.md). Each worker imports it here instead, as it
starts."""

import os
from importlib import import_module

import django
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

# What django.core.wsgi.get_wsgi_application does, with the project's handler.
django.setup(set_prefix=False)
import_module(settings.ROOT_URLCONF)

from config.handler import Handler  # noqa: E402 - needs the apps loaded

application = Handler()
