"""Complaints, reports and evaluations through the API.

The platform forwards what consumers file in its app, follows the cases and acts for the consumer
(evidence, more information, withdrawal). Every change of a case's status also reaches the
platform as the signed webhook `complaint.status_changed`.

A key bound to a merchant or an anchor reads the cases and evaluations about its party, and
nothing else; it never files, changes or withdraws them, and it never sees the consumer's contact
or private tracking link.
"""

from contextlib import contextmanager

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Prefetch, Q
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from accounts.actors import Actor
from accounts.api.permissions import ReadWriteScopes
from accounts.models import ApiKey
from accounts.uploads import clean_image
from complaints import services
from complaints.api.filters import CaseFilter, EvaluationFilter
from complaints.api.serializers import (
    CaseDetailOut,
    CaseIn,
    CaseOut,
    EvaluationIn,
    EvaluationOut,
    EvidenceAddedOut,
    EvidenceIn,
    InformationIn,
    OrderCheckIn,
    WithdrawIn,
)
from complaints.models import Case, CaseEvent, Evaluation, Source
from config.api.lookups import require_storable_id
from config.api.schema import error_responses


def errors(*codes: int) -> dict:
    return error_responses(
        *codes,
        not_found="No such case, or one this key may not see.",
        conflict="The case's status does not allow this now",
    )


# The services name the model's fields; the API calls some of them differently.
_API_FIELDS = {
    "merchant": "merchant_id",
    "anchor": "anchor_id",
    "session": "session_id",
    "contact_email": "contact",
    "contact_phone": "contact",
    "evidence": "images",
}


@contextmanager
def api_field_names():
    """Re-raise a service's field errors under the names the API client sent."""
    try:
        yield
    except DjangoValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        renamed: dict[str, list[str]] = {}
        for name, messages in exc.message_dict.items():
            renamed.setdefault(_API_FIELDS.get(name, name), []).extend(messages)
        raise serializers.ValidationError(renamed) from None


def _bound_party(request) -> int | None:
    key = getattr(request, "auth", None)
    return key.party_id if isinstance(key, ApiKey) else None


class AboutPartyMixin:
    """A key bound to a party reaches only the rows where that party is the merchant or the
    anchor; the others are 404, so their existence is not disclosed. (PartyScopedMixin follows
    one owner path; a case or an evaluation can be about two parties.)"""

    def base_queryset(self):
        raise NotImplementedError

    def get_queryset(self):
        queryset = self.base_queryset()
        party = _bound_party(self.request)
        if party is not None:
            queryset = queryset.filter(Q(merchant_id=party) | Q(anchor_id=party))
        return queryset

    def get_object(self):
        require_storable_id(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field, ""))
        return super().get_object()

    def object_party_id(self, obj):
        party = _bound_party(self.request)
        return party if party in (obj.merchant_id, obj.anchor_id) else None

    def refuse_party_bound(self, message: str) -> None:
        if _bound_party(self.request) is not None:
            raise PermissionDenied(message)


class ComplaintScopes(ReadWriteScopes):
    read_scope = "complaints:read"
    write_scope = "complaints:write"


class EvaluationScopes(ReadWriteScopes):
    read_scope = "evaluations:read"
    write_scope = "evaluations:write"


def _readable(queryset):
    return queryset.select_related("merged_into").annotate(evidence_count=Count("evidence"))


def _with_timeline(queryset):
    public = CaseEvent.objects.filter(public=True).order_by("at", "id")
    return queryset.prefetch_related(Prefetch("events", queryset=public, to_attr="public_events"))


@extend_schema_view(
    list=extend_schema(
        description=(
            "Cases newest first, cursor-paginated. A key bound to a party lists the cases "
            "about that party."
        ),
        responses={200: CaseOut(many=True), **errors(400, 401, 403, 429)},
    ),
    retrieve=extend_schema(
        description="One case by tracking code, with its public timeline.",
        responses={200: CaseDetailOut, **errors(401, 403, 404, 429)},
    ),
)
class CaseViewSet(
    ComplaintScopes,
    AboutPartyMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Complaints and reports, addressed by tracking code."""

    serializer_class = CaseOut
    filterset_class = CaseFilter
    lookup_field = "tracking_code"
    lookup_value_regex = "[A-Za-z0-9]{1,16}"

    def base_queryset(self):
        return Case.objects.all()

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "list":
            return _readable(queryset)
        if self.action == "retrieve":
            return _with_timeline(_readable(queryset))
        return queryset

    def get_serializer_class(self):
        return CaseDetailOut if self.action == "retrieve" else CaseOut

    def get_serializer_context(self):
        # Contact (masked) and the tracking link go to the platform, never to a party's key.
        return {**super().get_serializer_context(), "platform_view": not _bound_party(self.request)}

    def get_object(self):
        # Codes are read out over the phone and typed back in lower case.
        case = get_object_or_404(
            self.get_queryset(), tracking_code=self.kwargs["tracking_code"].upper()
        )
        self.check_object_permissions(self.request, case)
        return case

    def respond(self, case: Case, code: int = status.HTTP_200_OK) -> Response:
        fresh = _with_timeline(_readable(Case.objects.filter(pk=case.pk))).get()
        return Response(CaseDetailOut(fresh, context=self.get_serializer_context()).data, code)

    def respond_filed(self, case: Case) -> Response:
        """The answer to a filing, from the case the filing holds in memory: what `respond`
        would read back (a test holds them equal) but for the timeline, read alone. The read
        back, with its evidence count and the case it was merged into, took about a fifth of
        a filing's CPU (docs/PERFORMANCE.md, "Complaint intake")."""
        case.merged_into = None  # a new case is merged into nothing
        case.evidence_count = 0  # images come afterwards, with POST .../evidence/
        case.public_events = list(
            CaseEvent.objects.filter(case=case, public=True).order_by("at", "id")
        )
        body = CaseDetailOut(case, context=self.get_serializer_context()).data
        return Response(body, status.HTTP_201_CREATED)

    def actor(self) -> Actor:
        return Actor.for_api_key(self.request.auth)

    def refuse_respondent(self) -> None:
        self.refuse_party_bound(
            _("A key bound to a party cannot file or change complaints: they are the consumer's.")
        )

    def forwarded_case(self) -> Case:
        """The case to act on for the consumer: only one the platform forwarded itself. A case
        filed on our web form is changed by its consumer alone, through their tracking link."""
        self.refuse_respondent()
        case = self.get_object()
        if case.source != Source.API:
            raise PermissionDenied(
                _(
                    "This case was filed on the public web form; only the consumer can add to it "
                    "or withdraw it, through their tracking link."
                )
            )
        return case

    @extend_schema(
        request=CaseIn,
        responses={
            201: OpenApiResponse(CaseDetailOut, description="Filed; the clocks are running."),
            200: OpenApiResponse(
                CaseDetailOut, description="Already filed under this platform_ref: that case."
            ),
            **errors(400, 401, 403, 429),
        },
    )
    def create(self, request, *args, **kwargs):
        """Forward a complaint or report the consumer made in the platform's app.

        The acceptance (7 working days), resolution (configurable, 10 by default) and, once
        accepted, mediation (45) deadlines count in Chinese working days from the day in China of
        `received_at`, and are returned as dates; `deadline_estimated` is true when a counted day
        lies beyond the published holiday calendar. Show `tracking_url` to the consumer: it is
        their private link to follow the case, add information, withdraw and confirm the
        resolution, and the same link is in every e-mail they receive. Add evidence images with
        `POST .../evidence/`. Status changes are sent as the webhook `complaint.status_changed`.
        A complaint still in handling after its `mediation_due` is decided as `referred_12315`
        (event `mediation_ended`: SAMR complaint rules Art. 21(5)); tell the respondent named by
        the webhook's `merchant_id` and `anchor_id`.
        """
        self.refuse_respondent()
        payload = CaseIn(data=request.data)
        payload.is_valid(raise_exception=True)
        with api_field_names():
            filed = services.case_file(
                data=payload.case_input(),
                source=Source.API,
                actor=self.actor(),
                received_at=payload.validated_data["received_at"],
                platform_ref=payload.validated_data["platform_ref"],
            )
        if filed.created:
            return self.respond_filed(filed.case)
        return self.respond(filed.case)

    @extend_schema(
        request={"multipart/form-data": EvidenceIn},
        responses={201: EvidenceAddedOut, **errors(400, 401, 403, 404, 409, 429)},
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser])
    def evidence(self, request, tracking_code=None):
        """Add evidence images, each in a part named `images`: JPEG, PNG or WebP, re-encoded
        without metadata and stored privately. A case holds at most 9. If any image is refused,
        none is stored (400); a closed or withdrawn case takes no more (409); a case filed on the
        public web form is the consumer's alone (403)."""
        case = self.forwarded_case()
        payload = EvidenceIn(data=request.data)
        payload.is_valid(raise_exception=True)
        images, refused = [], []
        for number, upload in enumerate(payload.validated_data["images"], start=1):
            try:
                images.append(clean_image(upload))
            except DjangoValidationError as exc:
                refused += [
                    _("Image %(number)d: %(reason)s") % {"number": number, "reason": message}
                    for message in exc.messages
                ]
        if refused:
            raise serializers.ValidationError({"images": refused})
        with api_field_names():
            added = services.case_add_evidence(
                case=case, images=images, actor=self.actor(), added_by="api"
            )
        body = {"added": added, "evidence_count": case.evidence.count()}
        return Response(EvidenceAddedOut(body).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=WithdrawIn, responses={200: CaseDetailOut, **errors(400, 401, 403, 404, 409, 429)}
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request, tracking_code=None):
        """The consumer withdrew the case in the platform's app. Only an open case can be
        withdrawn (409 otherwise), and only one the platform forwarded (403 otherwise)."""
        case = self.forwarded_case()
        payload = WithdrawIn(data=request.data)
        payload.is_valid(raise_exception=True)
        services.case_withdraw(
            case=case, reason=payload.validated_data["reason"], actor=self.actor()
        )
        return self.respond(case)

    @extend_schema(
        request=InformationIn,
        responses={200: CaseDetailOut, **errors(400, 401, 403, 404, 409, 429)},
    )
    @action(detail=True, methods=["post"])
    def information(self, request, tracking_code=None):
        """The consumer added information in the platform's app. A case waiting for the consumer
        resumes, and its clocks restart; a case no longer open answers 409, one filed on the
        public web form 403."""
        case = self.forwarded_case()
        payload = InformationIn(data=request.data)
        payload.is_valid(raise_exception=True)
        with api_field_names():
            services.case_consumer_add_info(
                case=case, text=payload.validated_data["text"], actor=self.actor()
            )
        return self.respond(case)


@extend_schema_view(
    list=extend_schema(
        description=(
            "Evaluations newest first, cursor-paginated, hidden ones included: an evaluation a "
            "reviewer hid has `hidden_at` and `hidden_reason`; stop showing it. `?hidden=false` "
            "lists only the visible ones. Only those whose `order_check` is `forwarded`, "
            "`confirmed` or `before_checks` count in credit; `?order_check=` filters by it."
        ),
        responses={200: EvaluationOut(many=True), **errors(400, 401, 403, 429)},
    ),
    retrieve=extend_schema(responses={200: EvaluationOut, **errors(401, 403, 404, 429)}),
)
class EvaluationViewSet(
    EvaluationScopes,
    AboutPartyMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Consumers' evaluations of merchants and anchors. They are never changed or deleted
    (ECL Art. 39): there is no PUT, PATCH or DELETE; only a reviewer can hide one, with a
    recorded reason."""

    serializer_class = EvaluationOut
    filterset_class = EvaluationFilter
    http_method_names = ["get", "post", "head", "options"]

    def base_queryset(self):
        return Evaluation.objects.all()

    @extend_schema(
        request=EvaluationIn,
        responses={
            201: OpenApiResponse(EvaluationOut, description="Stored."),
            200: OpenApiResponse(
                EvaluationOut, description="Already stored under this platform_ref: that one."
            ),
            **errors(400, 401, 403, 429),
        },
    )
    def create(self, request, *args, **kwargs):
        """Forward a consumer's evaluation: stars from 1 to 5 for the description's accuracy,
        the service and the logistics, and for the anchor's honesty when an anchor is evaluated.
        A session's operator is evaluated when no merchant or anchor is named."""
        # The party evaluated never writes its own evaluations.
        self.refuse_party_bound(_("A key bound to a party cannot submit evaluations."))
        payload = EvaluationIn(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        with api_field_names():
            evaluation, created = services.evaluation_submit(
                merchant=data.get("merchant_id"),
                anchor=data.get("anchor_id"),
                session=data.get("session_id"),
                order_number=data["order_number"],
                stars_description=data["stars_description"],
                stars_service=data["stars_service"],
                stars_logistics=data["stars_logistics"],
                stars_anchor_honesty=data.get("stars_anchor_honesty"),
                text=data["text"],
                source=Source.API,
                platform_ref=data["platform_ref"],
            )
        return Response(
            EvaluationOut(evaluation).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(
        request=OrderCheckIn,
        responses={
            200: OpenApiResponse(EvaluationOut, description="Recorded (or recorded before)."),
            **errors(400, 401, 403, 404, 409, 429),
        },
    )
    @action(detail=True, methods=["post"], url_path="order-check")
    def order_check(self, request, pk=None):
        """Answer the webhook `evaluation.order_check`: is the order an evaluation made on the
        public web form names the consumer's purchase from the party evaluated? Confirmed, the
        evaluation counts in credit from then on (`confirmed`), unless that order's evaluation
        of the same merchant or anchor already counts (`duplicate_order`: an order is evaluated
        once); not found, it never counts and stays visible to reviewers. A "not found" may be
        corrected with `found: true`; a confirmation may not. Sending the same answer again
        changes nothing; any other answer, or one on an evaluation you forwarded yourself, is a
        409."""
        # The party evaluated never vouches for its own evaluations.
        self.refuse_party_bound(_("A key bound to a party cannot answer for an order."))
        evaluation = self.get_object()
        payload = OrderCheckIn(data=request.data)
        payload.is_valid(raise_exception=True)
        evaluation = services.evaluation_order_checked(
            evaluation=evaluation,
            found=payload.validated_data["found"],
            actor=Actor.for_api_key(request.auth),
        )
        return Response(EvaluationOut(evaluation).data)
