from django.urls import path

from enforcement import views

app_name = "enforcement"

urlpatterns = [
    path("notices/", views.notices, name="notices"),
    # Statements of reasons link here with [puid, token]: keep the name and the arguments.
    path("statements/<uuid:puid>/<str:token>/", views.statement, name="statement"),
]
