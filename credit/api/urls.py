from django.urls import path

from credit.api import views

urlpatterns = [
    path("public/credit/parties/", views.PartyListView.as_view(), name="public-credit-party-list"),
    path(
        "public/credit/parties/<int:pk>/",
        views.PartyDetailView.as_view(),
        name="public-credit-party-detail",
    ),
    path("public/credit/rules/", views.RuleSetListView.as_view(), name="public-credit-rules"),
    path(
        "public/credit/rules/<int:version>/",
        views.RuleSetDetailView.as_view(),
        name="public-credit-rule-set",
    ),
]
