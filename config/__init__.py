# The Celery app is loaded with Django so that shared tasks bind to it and `on_commit` queuing works
# from web processes as well as workers.
from .celery import app as celery_app

__all__ = ["celery_app"]
