from django.urls import path

from credit import views

app_name = "credit"

urlpatterns = [
    path("credit/", views.directory, name="directory"),
    path("credit/rules/", views.rules, name="rules"),
    path("credit/rules/<int:version>/", views.rule_set, name="rule_set"),
    path("credit/rules/<int:version>/rules.json", views.rule_set_json, name="rule_set_json"),
    path("credit/<int:party_id>/", views.profile, name="profile"),
]
