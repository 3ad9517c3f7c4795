from rest_framework.routers import SimpleRouter

from anchors.api.views import AgencyViewSet, AnchorViewSet

router = SimpleRouter()
router.register("anchors", AnchorViewSet, basename="anchor")
router.register("agencies", AgencyViewSet, basename="agency")
urlpatterns = router.urls
