import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from accounts.actors import Actor
from accounts.api.permissions import PartyScopedMixin, ReadWriteScopes
from config.api.filters import IdFilter
from config.api.schema import ErrorOut, error_responses
from liverooms import services
from liverooms.api import golive
from liverooms.api.serializers import (
    AlertOut,
    ClipIn,
    ClipOut,
    EndIn,
    GoLiveIn,
    RefusedOut,
    RoomSerializer,
    SessionOut,
    SignalsIn,
    SignalsOut,
)
from liverooms.models import Alert, AlertStatus, LiveRoom, LiveSession, SessionStatus

PLATFORM_ONLY = _(
    "Monitoring signals and clip labels are the platform's own: a key bound to a party cannot "
    "send them."
)
ROOM_REGISTER_REFUSED = _(
    "A key bound to a party updates its own rooms, named by their platform_ref; registering "
    "rooms is the platform's."
)


class LiveScopes(ReadWriteScopes):
    read_scope = "live:read"
    write_scope = "live:write"


class RoomViewSet(
    LiveScopes,
    PartyScopedMixin,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Live rooms; POST with an existing platform_ref updates that room."""

    serializer_class = RoomSerializer
    party_lookup = "owner_id"

    def base_queryset(self):
        return LiveRoom.objects.all()

    @extend_schema(
        responses={
            200: OpenApiResponse(RoomSerializer, description="The room with this ref, updated."),
            201: OpenApiResponse(RoomSerializer, description="A new room, registered."),
            403: OpenApiResponse(
                ErrorOut,
                description=(
                    "The key lacks the `live:write` scope; or it is bound to a party and the "
                    "platform_ref is not one of its party's rooms (none with this ref, or "
                    "another party's: answered alike)."
                ),
            ),
            409: OpenApiResponse(
                ErrorOut,
                description="Another owner for a room on air: it changes hands between sessions.",
            ),
        },
    )
    def create(self, request, *args, **kwargs):
        """Register a room (201), or update the room with this `platform_ref` (200).

        The platform's own keys register any room; posting a room's ref with another
        `owner_id` moves the room to that owner (it changes hands with its account). Its past
        sessions, and their alerts, stay with the owner who ran them. A room on air does not
        change hands: that is a 409 until its session ends.

        A key bound to a party names its own party as `owner_id` (any other id is the 400 of
        an id that does not exist) and only updates its party's existing rooms. Any other
        `platform_ref` is a 403, the same whether no room has it or another party's room does.
        Refusing only the second (say, a 400 "already used") while registering the first would
        tell a bound key which refs are in use, and since refs are unique across the platform
        it cannot register one another party holds; so a bound key registers no rooms at all,
        as it registers no parties."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        party_id = request.auth.party_id
        try:
            # 201 or 200 as the service decided with the room held: a ref that another request
            # registered a moment before is an update here too. A bound key only ever updates.
            registration = services.room_registration(
                owner=data.pop("owner_id"),
                actor=Actor.for_api_key(request.auth),
                party_id=party_id,
                **data,
            )
        except services.RoomNotFound:
            raise PermissionDenied(ROOM_REGISTER_REFUSED) from None
        return Response(
            RoomSerializer(registration.room).data,
            status=status.HTTP_201_CREATED if registration.created else status.HTTP_200_OK,
        )


class SessionFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=SessionStatus.choices)
    room = IdFilter(field_name="room_id")

    class Meta:
        model = LiveSession
        fields = ["status", "room"]


class SessionViewSet(
    LiveScopes,
    PartyScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Live sessions. `POST` is the go-live gate."""

    serializer_class = SessionOut
    filterset_class = SessionFilter
    # The session's operator, not the room's owner now: a room changes hands with its account,
    # and its past sessions stay with whoever ran them.
    party_lookup = "owner_id"

    def base_queryset(self):
        return LiveSession.objects.prefetch_related("anchors", "products")

    def dispatch(self, request, *args, **kwargs):
        # A go-live is answered by the gate's hot path (liverooms/api/golive.py), which hands
        # back what it does not vouch for; everything else is the REST framework's as usual.
        if request.method == "POST" and self.action_map.get("post") == "create":
            response = golive.answer(self, request)
            if response is not None:
                golive.unbind_handlers(self)
                return response
        return super().dispatch(request, *args, **kwargs)

    @extend_schema(
        request=GoLiveIn,
        responses={
            201: SessionOut,
            403: OpenApiResponse(
                PolymorphicProxySerializer(
                    component_name="GoLiveForbidden",
                    serializers=[RefusedOut, ErrorOut],
                    resource_type_field_name=None,
                ),
                description=(
                    "The gate refused, with every reason; or the key lacks the `live:write` "
                    "scope (`{detail, code}`). A key bound to a party reads its own reasons in "
                    "full; a reason about another party or another merchant's product comes as "
                    "`party_not_cleared` or `product_not_cleared` with the id only, and so does "
                    "an anchor or product id that names nothing (a 400 for the platform's keys)."
                ),
            ),
            404: OpenApiResponse(
                description=(
                    "A key bound to a party named a room that is not its party's, or no room: "
                    "answered alike, with no body."
                )
            ),
            **error_responses(409, not_found="", conflict="The room is already on air"),
        },
    )
    def create(self, request, *args, **kwargs):
        """Ask to go live. 201 with the session, or 403 with every reason the gate refuses:
        `{"allowed": false, "reasons": [{"code": ..., "message": ...}]}`."""
        payload = GoLiveIn(data=request.data)
        payload.is_valid(raise_exception=True)
        return golive.decide(self, request.auth, payload.validated_data)

    @extend_schema(request=EndIn, responses={200: SessionOut})
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        session = self.get_object()
        payload = EndIn(data=request.data)
        payload.is_valid(raise_exception=True)
        services.session_end(
            session=session,
            reason=payload.validated_data["reason"],
            actor=Actor.for_api_key(request.auth),
        )
        return Response(SessionOut(self.base_queryset().get(pk=session.pk)).data)

    @extend_schema(request=SignalsIn, responses={200: SignalsOut})
    @action(detail=True, methods=["post"])
    def signals(self, request, pk=None):
        """A batch of transcript, chat and listing signals; answers with the alerts it raised.

        Each kind of signal (speech to text, chat, listing updates) is sent in the order of
        stream time: a signal earlier than the last of its kind already accepted for the session
        is a 409, one out of order within the batch, in the future or from before the session
        went live a 400; nothing of a refused batch is kept. A batch sent again unchanged (after
        a timeout) raises nothing new: the answer has the first time's alerts and
        `replayed: true`.

        Only the platform's keys send signals: the monitored party's own key could otherwise
        move a kind's clock ahead (within the allowed skew) and have the platform's signals
        refused as out of order."""
        self._platform_only()
        session = self.get_object()
        payload = SignalsIn(data=request.data)
        payload.is_valid(raise_exception=True)
        received = services.signals_ingest(
            session=session,
            signals=payload.validated_data["signals"],
            actor=Actor.for_api_key(request.auth),
        )
        return Response(SignalsOut({"alerts": received.alerts, "replayed": received.replayed}).data)

    @extend_schema(
        request=ClipIn,
        responses={
            201: ClipOut,
            200: ClipOut,
            **error_responses(409, not_found="", conflict="The clip is labelled as another kind"),
        },
    )
    @action(detail=True, methods=["post"])
    def clips(self, request, pk=None):
        """Identify a clip cut from the session: its content label, AI label included. 201 for
        a new clip, 200 with its label for one sent before; the same clip id sent as another
        kind of content is a 409. Only the platform's keys label clips."""
        self._platform_only()
        session = self.get_object()
        payload = ClipIn(data=request.data)
        payload.is_valid(raise_exception=True)
        label, created = services.clip_label(
            session=session, actor=Actor.for_api_key(request.auth), **payload.validated_data
        )
        return Response(
            ClipOut(label).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    def _platform_only(self) -> None:
        if self.request.auth.party_id is not None:
            raise PermissionDenied(PLATFORM_ONLY)


class AlertFilter(django_filters.FilterSet):
    session = IdFilter(field_name="session_id")
    party = IdFilter(method="filter_party")
    rule = django_filters.CharFilter(field_name="rule__code")
    status = django_filters.ChoiceFilter(choices=AlertStatus.choices)

    class Meta:
        model = Alert
        fields = ["session", "party", "rule", "status"]

    def filter_party(self, queryset, name, value):
        sessions = LiveSession.objects.filter(
            Q(owner_id=value) | Q(anchors__anchor_id=value) | Q(products__merchant_id=value)
        ).values("pk")
        return queryset.filter(session_id__in=sessions)


class AlertViewSet(
    LiveScopes,
    PartyScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = AlertOut
    filterset_class = AlertFilter
    party_lookup = "session__owner_id"

    def base_queryset(self):
        return Alert.objects.select_related("rule")
