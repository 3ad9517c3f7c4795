from django.urls import path

from complaints import views

app_name = "complaints"

urlpatterns = [
    path("complaints/new/", views.complaint_new, name="complaint_new"),
    path("reports/new/", views.report_new, name="report_new"),
    path("complaints/filed/", views.filed, name="filed"),
    path("evaluations/new/", views.evaluation_new, name="evaluation_new"),
    path("evaluations/thanks/", views.evaluation_thanks, name="evaluation_thanks"),
    path("track/", views.track_find, name="track_find"),
    # The e-mails link to "track" with [code, token]: keep its name and arguments.
    path("track/<str:code>/<str:token>/", views.track, name="track"),
    path("track/<str:code>/<str:token>/add/", views.track_add, name="track_add"),
    path("track/<str:code>/<str:token>/withdraw/", views.track_withdraw, name="track_withdraw"),
    path("track/<str:code>/<str:token>/confirm/", views.track_confirm, name="track_confirm"),
    path("track/<str:code>/<str:token>/rate/", views.track_rate, name="track_rate"),
    path(
        "track/<str:code>/<str:token>/evidence/<int:pk>/",
        views.track_evidence,
        name="track_evidence",
    ),
]
