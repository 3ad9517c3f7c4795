"""The public credit API: anyone may read the directory, a party's credit profile and the
published rules, without a key (RULES.md §6; ECL Art. 39). Read-only, paginated, limited per
client address (`credit_public`), and the same fields as the public pages: both read through
`credit.selectors`.
"""

from django.http import Http404
from django.utils.cache import patch_cache_control
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from accounts.models import Party
from config.api.lookups import require_storable_id
from config.api.pagination import CursorPagination
from credit import selectors
from credit.api.filters import PublicPartyFilter
from credit.api.serializers import (
    PartyProfileOut,
    PartyRowOut,
    RuleSetDetailOut,
    RuleSetOut,
)
from credit.api.throttling import CreditPublicThrottle
from credit.models import RuleSet

# What the public reads is the same for everyone: any cache may keep it this long.
CACHE_SECONDS = 60


class PublicErrorOut(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(required=False)


_ERRORS = {
    400: OpenApiResponse(
        OpenApiTypes.OBJECT, description="Field errors, `{field: [message, ...]}`."
    ),
    404: OpenApiResponse(
        PublicErrorOut, description="No such party or version, or not public (yet)."
    ),
    429: OpenApiResponse(
        PublicErrorOut,
        description="Too many requests from this address; retry after `Retry-After` seconds.",
    ),
}


def errors(*codes: int) -> dict:
    return {code: _ERRORS[code] for code in codes}


class NewestVersionFirst(CursorPagination):
    ordering = "-version"


class PublicView(generics.GenericAPIView):
    """No key and no session: an Authorization header is ignored rather than checked, so that a
    stale key never locks anyone out of public data."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [CreditPublicThrottle]

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code == 200:
            patch_cache_control(response, public=True, max_age=CACHE_SECONDS)
        return response


@extend_schema(
    summary="The credit directory",
    description=(
        "Approved merchants, anchors and agencies, newest first, each with its credit grade and "
        "score (the scale's base until something counts for or against it). Filter by words of "
        "the name, kind and grade; cursor-paginated. No key needed."
    ),
    responses={200: PartyRowOut(many=True), **errors(400, 429)},
    auth=[],
)
class PartyListView(PublicView, generics.ListAPIView):
    serializer_class = PartyRowOut
    filterset_class = PublicPartyFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            # The schema is built without a database; the grades need the rules in force.
            return Party.objects.none()
        return selectors.public_parties()


@extend_schema(
    summary="A party's public credit profile",
    description=(
        "Grade and score with the rule set version that computed them, the points deducted "
        "and added, the latest confirmed violations and executed measures (what and when), "
        "the consumers' evaluations in the window, and the last changes of the score."
    ),
    responses={200: PartyProfileOut, **errors(404, 429)},
    auth=[],
)
class PartyDetailView(PublicView):
    serializer_class = PartyProfileOut

    def get(self, request, pk: int):
        require_storable_id(pk)
        party = selectors.public_party(pk)
        if party is None:
            raise Http404
        return Response(PartyProfileOut(selectors.party_profile(party)).data)


@extend_schema(
    summary="The published credit rules and their history",
    description=(
        "Every published version, newest first: the one in force, any scheduled (published at "
        "least 7 days before taking effect, ECL Art. 34) and those superseded."
    ),
    responses={200: RuleSetOut(many=True), **errors(429)},
    auth=[],
)
class RuleSetListView(PublicView, generics.ListAPIView):
    serializer_class = RuleSetOut
    pagination_class = NewestVersionFirst

    def get_queryset(self):
        return RuleSet.objects.filter(published_at__isnull=False).defer("rules")

    def get_serializer(self, page, many=False):
        # A version's standing depends on the versions around it, so it comes from the whole
        # (short) list; read after the page, so that it holds every row on the page.
        standing = {item.version: item for item in selectors.published_rule_sets()}
        return RuleSetOut([standing[row.version] for row in page], many=True)


@extend_schema(
    summary="One published version of the credit rules",
    description=(
        "The version's dates and standing, and its rules as published (the JSON the scores are "
        "computed from). Drafts are not public: 404."
    ),
    responses={200: RuleSetDetailOut, **errors(404, 429)},
    auth=[],
)
class RuleSetDetailView(PublicView):
    serializer_class = RuleSetDetailOut

    def get(self, request, version: int):
        published = selectors.published_rule_set(version)
        if published is None:
            raise Http404
        return Response(RuleSetDetailOut(published).data)
