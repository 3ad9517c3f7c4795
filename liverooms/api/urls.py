from rest_framework.routers import SimpleRouter

from liverooms.api import views

router = SimpleRouter()
router.register("live-rooms", views.RoomViewSet, basename="live-room")
router.register("live-sessions", views.SessionViewSet, basename="live-session")
router.register("alerts", views.AlertViewSet, basename="alert")
urlpatterns = router.urls
