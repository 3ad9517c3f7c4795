"""Products: the platform registers each merchant's products with their conformity documents,
so that the go-live gate can check what is shown on air."""

import django_filters
from django.utils.translation import gettext_lazy as _
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from accounts.actors import Actor
from accounts.api.permissions import PartyScopedMixin, ReadWriteScopes
from accounts.models import Party, PartyKind
from config.api.filters import IdFilter
from merchants import services
from merchants.models import Category, ListingStatus, Product


class ProductSerializer(serializers.ModelSerializer):
    merchant_id = serializers.IntegerField()
    category = serializers.ChoiceField(choices=Category.choices)

    class Meta:
        model = Product
        fields = [
            "id",
            "merchant_id",
            "platform_ref",
            "title",
            "category",
            "listing_status",
            "ccc_certificate",
            "ccc_valid_until",
            "ad_review_number",
            "ad_review_valid_until",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["listing_status"]

    def validate_merchant_id(self, value):
        merchant = Party.objects.filter(pk=value, kind=PartyKind.MERCHANT).first()
        if merchant is None:
            raise serializers.ValidationError(_("No merchant with this id."))
        return merchant


class ProductFilter(django_filters.FilterSet):
    merchant = IdFilter(field_name="merchant_id")
    listing_status = django_filters.ChoiceFilter(choices=ListingStatus.choices)
    category = django_filters.ChoiceFilter(choices=Category.choices)

    class Meta:
        model = Product
        fields = ["merchant", "listing_status", "category"]


class ProductViewSet(
    ReadWriteScopes,
    PartyScopedMixin,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Products; POST with an existing (merchant, platform_ref) updates that product."""

    serializer_class = ProductSerializer
    filterset_class = ProductFilter
    party_lookup = "merchant_id"

    read_scope = "products:read"
    write_scope = "products:write"

    def base_queryset(self):
        return Product.objects.all()

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        merchant = data.pop("merchant_id")
        key = request.auth
        if key.party_id is not None and key.party_id != merchant.pk:
            raise serializers.ValidationError({"merchant_id": _("Not your merchant.")})
        product = services.product_register(merchant=merchant, actor=Actor.for_api_key(key), **data)
        return Response(ProductSerializer(product).data, status=status.HTTP_201_CREATED)
