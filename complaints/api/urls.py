from rest_framework.routers import SimpleRouter

from complaints.api import views

router = SimpleRouter()
router.register("complaints", views.CaseViewSet, basename="complaint")
router.register("evaluations", views.EvaluationViewSet, basename="evaluation")
urlpatterns = router.urls
