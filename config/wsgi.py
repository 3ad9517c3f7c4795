"""The WSGI application that gunicorn serves (README: "Running it").

Django imports the URLconf on the first request a process serves, and with it the REST
framework, drf-spectacular and every app's views: about 0.3 s that the first request to each
new worker waited for (bench/README.md). Each worker imports it here instead, as it starts."""

import os
from importlib import import_module

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

application = get_wsgi_application()
import_module(settings.ROOT_URLCONF)
