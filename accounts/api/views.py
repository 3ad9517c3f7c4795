from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.api.filters import PartyFilter, RestrictionFilter
from accounts.api.permissions import PartyScopedMixin
from accounts.api.serializers import KeyOut, PartyOut, PingOut, RestrictionOut
from accounts.models import WebhookDelivery


class PartyViewSet(
    PartyScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The registry of merchants, anchors and agencies, with the restrictions in force."""

    required_scopes = ["parties:read"]
    party_lookup = "pk"
    serializer_class = PartyOut
    filterset_class = PartyFilter

    def base_queryset(self):
        return selectors.party_list()


class RestrictionViewSet(
    PartyScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Restrictions on parties, newest first: `?party=` one party's, `?in_force=true` those in
    force now. The go-live gate and the entry checks read the same records."""

    required_scopes = ["parties:read"]
    serializer_class = RestrictionOut
    filterset_class = RestrictionFilter

    def base_queryset(self):
        return selectors.restriction_list()


class KeyView(APIView):
    """Which key this is: its name, scopes and the party it is bound to, if any."""

    required_scopes: list[str] = []

    @extend_schema(responses=KeyOut)
    def get(self, request):
        key = request.auth
        return Response(
            KeyOut({"name": key.name, "scopes": key.scopes, "party_id": key.party_id}).data
        )


class WebhookPingView(APIView):
    """Send a `ping` event to every active webhook endpoint, to test signature checking."""

    required_scopes = ["webhooks:manage"]

    @extend_schema(request=None, responses={202: PingOut})
    def post(self, request):
        with transaction.atomic():
            event_id = services.webhook_emit(
                topic="ping", data={"requested_by": f"api:{request.auth.name}"}
            )
            endpoints = WebhookDelivery.objects.filter(event_id=event_id).count()
        return Response(
            PingOut({"event_id": event_id, "endpoints": endpoints}).data,
            status=status.HTTP_202_ACCEPTED,
        )
