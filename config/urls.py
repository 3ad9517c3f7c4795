from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config import views
from config.middleware import API_PREFIX

# Django tries the patterns in order, and the go-live gate (live-sessions/) is asked a thousand
# times a second: its routes come first, where they take a few microseconds to find.
api_v1 = [
    path("", include("liverooms.api.urls")),
    path("", include("accounts.api.urls")),
    path("", include("merchants.api.urls")),
    path("", include("anchors.api.urls")),
    path("", include("complaints.api.urls")),
    path("", include("enforcement.api.urls")),
    path("", include("credit.api.feed_urls")),
    path("", include("credit.api.urls")),
]

urlpatterns = [
    path(API_PREFIX.removeprefix("/"), include(api_v1)),
    path("", views.landing, name="landing"),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("complaints.urls")),
    path("", include("enforcement.urls")),
    path("", include("credit.urls")),
    # The compliance dashboard: admin pages, but no app's (config/dashboard reads them all).
    path("admin/dashboard/", include("config.dashboard.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's initialiser as a script file, so the page needs no
    # inline script and passes our Content-Security-Policy.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]

handler404 = "config.views.page_not_found"
handler500 = "config.views.server_error"
