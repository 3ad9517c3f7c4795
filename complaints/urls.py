from django.urls import path

from complaints import views

app_name = "complaints"

urlpatterns = [
    path("track/<str:code>/<str:token>/", views.track, name="track"),
]
