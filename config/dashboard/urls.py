"""The dashboard's pages, under /admin/dashboard/ (mounted before the admin's own URLs)."""

from django.urls import path

from config.dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.dashboard, name="index"),
    path("figures/<slug:key>/", views.figure_detail, name="figure"),
    path("export/", views.export, name="export"),
    path("jobs/<int:pk>/", views.job_status, name="job"),
    path("jobs/<int:pk>/download/", views.job_download, name="job_download"),
]
