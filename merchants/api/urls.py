from rest_framework.routers import SimpleRouter

from merchants.api.products import ProductViewSet
from merchants.api.views import MerchantViewSet

router = SimpleRouter()
router.register("merchants", MerchantViewSet, basename="merchant")
router.register("products", ProductViewSet, basename="product")
urlpatterns = router.urls
