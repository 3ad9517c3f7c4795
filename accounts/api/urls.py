from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts.api import views

router = SimpleRouter()
router.register("parties", views.PartyViewSet, basename="party")
router.register("restrictions", views.RestrictionViewSet, basename="restriction")

urlpatterns = [
    path("key/", views.KeyView.as_view(), name="api-key"),
    path("webhooks/ping/", views.WebhookPingView.as_view(), name="webhook-ping"),
    *router.urls,
]
