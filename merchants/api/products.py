"""Products: the platform registers each merchant's products with their conformity documents,
so that the go-live gate can check what is shown on air."""

import django_filters
from django.utils.translation import gettext_lazy as _
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from accounts.actors import Actor
from accounts.api.permissions import PartyScopedMixin, ReadWriteScopes
from accounts.models import Party, PartyKind
from config.api.fields import IdField, StrictModelSerializer, bound_party_id
from config.api.filters import IdFilter
from merchants import services
from merchants.models import Category, ListingStatus, Product


class ProductSerializer(StrictModelSerializer):
    merchant_id = IdField(
        help_text=_("The merchant's id; a key bound to a party names its own party.")
    )
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
        merchants = Party.objects.filter(pk=value, kind=PartyKind.MERCHANT)
        party_id = bound_party_id(self)
        if party_id is None:
            merchant = merchants.first()
            if merchant is None:
                raise serializers.ValidationError(_("No merchant with this id."))
            return merchant
        # A key bound to a party sees only its own party: another merchant is answered exactly
        # as an id that does not exist, so that it cannot tell which ids do.
        merchant = merchants.filter(pk=party_id).first()
        if merchant is None:
            raise serializers.ValidationError(
                _("No merchant with this id, or not the one this key is bound to.")
            )
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
        # A key bound to a party can only have named its own (ProductSerializer).
        merchant = data.pop("merchant_id")
        product = services.product_register(
            merchant=merchant, actor=Actor.for_api_key(request.auth), **data
        )
        return Response(ProductSerializer(product).data, status=status.HTTP_201_CREATED)
