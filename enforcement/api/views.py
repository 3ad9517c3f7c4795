"""The enforcement API: the platform reads violations, measures and their statements of reasons,
files appeals for parties, reads deposits and reports deposit payments.

Appeals are decided in the admin by a member of the compliance team, never through the API
(DSA Art. 20). A key bound to a party reads only that party's records, and of those only what
has been decided about it: confirmed violations and executed measures. Everything else is 404,
the same answer as for an id that does not exist.
"""

from django.db.models import F, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from accounts.actors import Actor
from accounts.api.permissions import PartyScopedMixin, ReadWriteScopes
from accounts.models import ApiKey, Party
from config.api.schema import error_responses
from config.errors import Conflict
from enforcement import services
from enforcement.api.filters import (
    AppealFilter,
    DepositAccountFilter,
    MeasureFilter,
    ViolationFilter,
)
from enforcement.api.serializers import (
    AppealIn,
    AppealOut,
    DepositAccountOut,
    LedgerEntryOut,
    MeasureOut,
    StatementOut,
    TopUpIn,
    ViolationOut,
)
from enforcement.models import (
    Appeal,
    DepositRequirement,
    LedgerEntry,
    Measure,
    Violation,
    ViolationStatus,
)
from enforcement.services import statements
from merchants.models import ListingStatus, Product


def errors(*codes: int) -> dict:
    return error_responses(
        *codes,
        not_found="No such record, or one this key may not see.",
        conflict="Refused in the record's present state",
    )


def bound_party(request) -> int | None:
    key = getattr(request, "auth", None)
    return key.party_id if isinstance(key, ApiKey) else None


# --- violations ----------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        description=(
            "Violations newest first, cursor-paginated, each with its evidence described (never "
            "the files). A key bound to a party lists that party's confirmed violations."
        ),
        responses={200: ViolationOut(many=True), **errors(400, 401, 403, 429)},
    ),
    retrieve=extend_schema(responses={200: ViolationOut, **errors(401, 403, 404, 429)}),
)
class ViolationViewSet(
    PartyScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Breaches of the catalogue's rules found against parties, with the evidence."""

    required_scopes = ["enforcement:read"]
    serializer_class = ViolationOut
    filterset_class = ViolationFilter

    def base_queryset(self):
        return Violation.objects.select_related("type").prefetch_related("evidence")

    def get_queryset(self):
        queryset = super().get_queryset()
        if bound_party(self.request) is not None:
            # Suspicions under triage and dismissed ones are the compliance team's own work.
            queryset = queryset.filter(status=ViolationStatus.CONFIRMED).annotate(
                case_kind=F("case__kind")
            )
        return queryset

    def get_serializer_context(self):
        party_view = bound_party(self.request) is not None
        return {**super().get_serializer_context(), "party_view": party_view}


# --- measures ------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        description=(
            "Measures newest first, cursor-paginated: the fields of the `measure.executed` "
            "webhook, the status since and the appeal, if any. A key bound to a party lists "
            "the executed measures taken against it."
        ),
        responses={200: MeasureOut(many=True), **errors(400, 401, 403, 429)},
    ),
    retrieve=extend_schema(responses={200: MeasureOut, **errors(401, 403, 404, 429)}),
)
class MeasureViewSet(
    PartyScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Steps of the disposal ladder taken against parties. They are proposed, approved and
    executed by the compliance team; the platform reads them and files appeals."""

    serializer_class = MeasureOut
    filterset_class = MeasureFilter

    @property
    def required_scopes(self):
        return ["appeals:write"] if self.action == "appeal" else ["enforcement:read"]

    def base_queryset(self):
        return Measure.objects.select_related(
            "party", "violation__type", "appeal"
        ).prefetch_related("products")

    def get_queryset(self):
        queryset = super().get_queryset()
        if bound_party(self.request) is not None:
            # A proposal becomes the party's business when it is carried out and the party
            # is told (the statement of reasons); until then it may still be rejected.
            queryset = queryset.filter(executed_at__isnull=False)
        return queryset

    def executed_measure(self) -> Measure:
        measure = self.get_object()
        if measure.executed_at is None:
            raise Conflict(
                _(
                    "This measure has not been executed; its statement of reasons is written "
                    "when it is."
                )
            )
        return measure

    @extend_schema(responses={200: StatementOut, **errors(401, 403, 404, 409, 429)})
    @action(detail=True, methods=["get"], filter_backends=[])
    def statement(self, request, pk=None):
        """The statement of reasons the party received (LCM Art. 14: the facts, the reasons,
        the basis, the duration and how to appeal), in Chinese and English, with the appeal
        deadline and the party's link to the statement and the appeal form. Only an executed
        measure has one: any other answers 409."""
        measure = self.executed_measure()
        body = {
            "zh_hans": statements.render(measure, "zh-hans"),
            "en": statements.render(measure, "en"),
            "appeal_deadline": statements.appeal_deadline(measure),
            "statement_url": statements.statement_url(measure),
        }
        return Response(StatementOut(body).data)

    # A separate path, not `?format=dsa`: the REST framework reserves `format` to choose a
    # renderer, and answers 404 for one it does not have.
    @extend_schema(
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description=(
                    "The statement in the fields of the EU Transparency Database's "
                    "statement-of-reasons API (`puid`, `decision_ground`, `decision_visibility`, "
                    "`decision_provision`, `decision_account`, `decision_monetary`, "
                    "`category`, `source_type`, `automated_detection`, `automated_decision`, "
                    "`application_date`, end dates per restriction, ...)."
                ),
            ),
            **errors(401, 403, 404, 409, 429),
        }
    )
    @action(detail=True, methods=["get"], url_path="statement/dsa", filter_backends=[])
    def statement_dsa(self, request, pk=None):
        """The same decision in the EU Digital Services Act's vocabulary, for a platform that
        also reports to the Transparency Database. Only an executed measure: any other is 409."""
        return Response(statements.transparency_db(self.executed_measure()))

    @extend_schema(
        request=AppealIn,
        responses={
            201: OpenApiResponse(AppealOut, description="Filed; the measure is under appeal."),
            **errors(400, 401, 403, 404, 409, 429),
        },
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def appeal(self, request, pk=None):
        """File the party's appeal against an executed measure, for the party (the platform's
        key) or by the party itself (a key bound to it, for its own measures only). A measure
        is appealed once, within the appeal window from its execution (six months by
        default); a second appeal, a late one, or one against a measure not executed is 409.
        The appeal is decided in the admin by someone who took no part in the measure; the
        decision arrives as the webhook `measure.upheld` or `measure.reversed`."""
        measure = self.get_object()
        payload = AppealIn(data=request.data)
        payload.is_valid(raise_exception=True)
        appeal = services.appeal_file(
            measure=measure,
            grounds=payload.validated_data["grounds"],
            contact=payload.validated_data["contact"],
            channel=Appeal.Channel.API,
            actor=Actor.for_api_key(request.auth),
        )
        return Response(AppealOut(appeal).data, status=status.HTTP_201_CREATED)


# --- appeals -------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        description="Appeals newest first, cursor-paginated, pending and decided.",
        responses={200: AppealOut(many=True), **errors(400, 401, 403, 429)},
    ),
    retrieve=extend_schema(responses={200: AppealOut, **errors(401, 403, 404, 429)}),
)
class AppealViewSet(
    PartyScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Appeals against measures and their decisions. Read-only: a person decides them in the
    admin, never a key."""

    required_scopes = ["appeals:read"]
    serializer_class = AppealOut
    filterset_class = AppealFilter
    party_lookup = "measure__party_id"

    def base_queryset(self):
        return Appeal.objects.select_related("measure")


# --- deposits ------------------------------------------------------------------------------------


def deposit_positions():
    """Every party with its deposit, in one query however many are listed: a party that never
    paid in has no account row yet and holds 0. The requirement is the largest among the
    categories of its listed products -- the products it may show live, which the go-live gate
    holds to the same rule (enforcement.checks)."""
    listed = Product.objects.filter(
        merchant_id=OuterRef(OuterRef("pk")), listing_status=ListingStatus.LISTED
    ).values("category")
    required = (
        DepositRequirement.objects.filter(category__in=listed)
        .order_by("-amount_fen")
        .values("amount_fen")[:1]
    )
    return Party.objects.annotate(
        balance_fen=Coalesce(F("deposit_account__balance_fen"), Value(0)),
        shortfall_fen=Coalesce(F("deposit_account__shortfall_fen"), Value(0)),
        deposit_updated_at=F("deposit_account__updated_at"),
        required_fen=Coalesce(Subquery(required), Value(0)),
    )


class DepositScopes(ReadWriteScopes):
    read_scope = "deposits:read"
    write_scope = "deposits:write"


@extend_schema_view(
    list=extend_schema(
        description=(
            "Parties' deposits by party id, newest party first, cursor-paginated; "
            "`?party=<id>` for one. A key bound to a party lists its own."
        ),
        responses={200: DepositAccountOut(many=True), **errors(400, 401, 403, 429)},
    ),
    retrieve=extend_schema(responses={200: DepositAccountOut, **errors(401, 403, 404, 429)}),
)
class DepositAccountViewSet(
    DepositScopes,
    PartyScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """The deposit ledger (保证金), addressed by party id. The balance always equals the sum of
    the entries; entries are never changed, a correction is a new entry."""

    serializer_class = DepositAccountOut
    filterset_class = DepositAccountFilter
    party_lookup = "pk"
    lookup_url_kwarg = "party_id"

    def base_queryset(self):
        return deposit_positions()

    @extend_schema(responses={200: LedgerEntryOut(many=True), **errors(401, 403, 404, 429)})
    @action(detail=True, methods=["get"], filter_backends=[])
    def entries(self, request, party_id=None):
        """The party's ledger entries, newest first, cursor-paginated: top-ups, deductions for
        measures, refunds of reversed ones, compensation paid to consumers."""
        party = self.get_object()
        page = self.paginate_queryset(LedgerEntry.objects.filter(account__party=party))
        return self.get_paginated_response(LedgerEntryOut(page, many=True).data)

    @extend_schema(
        request=TopUpIn,
        responses={
            201: OpenApiResponse(LedgerEntryOut, description="Posted."),
            200: OpenApiResponse(
                LedgerEntryOut,
                description="Already posted under this reference: that entry, unchanged.",
            ),
            **errors(400, 401, 403, 404, 409, 429),
        },
    )
    @action(detail=True, methods=["post"], url_path="top-ups", filter_backends=[])
    def top_ups(self, request, party_id=None):
        """Report money the party paid into its deposit, as the platform's payment system
        recorded it. The reference makes it safe to retry: sending it again returns the entry
        already posted (200) and posts nothing; the same reference for another party or amount
        is 409. Only the platform's own key reports payments, not a key bound to a party."""
        if bound_party(request) is not None:
            raise PermissionDenied(_("Only the platform reports deposit payments."))
        party = self.get_object()
        payload = TopUpIn(data=request.data)
        payload.is_valid(raise_exception=True)
        posted = services.top_up(
            party=party,
            amount_fen=payload.validated_data["amount_fen"],
            reference=payload.validated_data["reference"],
            actor=Actor.for_api_key(request.auth),
        )
        code = status.HTTP_201_CREATED if posted.created else status.HTTP_200_OK
        return Response(LedgerEntryOut(posted.entry).data, status=code)
