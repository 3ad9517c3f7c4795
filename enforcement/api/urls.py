from rest_framework.routers import SimpleRouter

from enforcement.api import views

router = SimpleRouter()
router.register("violations", views.ViolationViewSet, basename="violation")
router.register("measures", views.MeasureViewSet, basename="measure")
router.register("appeals", views.AppealViewSet, basename="appeal")
router.register("deposit-accounts", views.DepositAccountViewSet, basename="deposit-account")
urlpatterns = router.urls
