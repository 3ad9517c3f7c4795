"""Our signed feed for the other platforms of the credit-sharing consortium (credit/sharing.py).

`GET /api/v1/credit/feed/?after=<seq>&limit=<n>` needs a key with the `credit:feed` scope, issued
to a peer platform (not bound to a party). `GET /api/v1/credit/feed/key/` is public: it is the key
peers verify the feed with. Neither carries a name or an ID number, only consortium hashes.
"""

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiKey
from credit import sharing
from credit.models import SharedKind


class FeedQuery(serializers.Serializer):
    after = serializers.IntegerField(min_value=0, max_value=2**63 - 1, default=0)
    limit = serializers.IntegerField(
        min_value=1, max_value=sharing.FEED_PAGE_MAX, default=sharing.FEED_PAGE_MAX
    )


class FeedEntryOut(serializers.Serializer):
    seq = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=SharedKind.choices)
    consortium_hash = serializers.CharField(
        help_text="HMAC-SHA256 of the normalised identifier under the consortium key, hex."
    )
    valid_from = serializers.DateField()
    valid_until = serializers.DateField(allow_null=True, help_text="The last day; null: no end.")
    revokes = serializers.IntegerField(
        allow_null=True, help_text="The entry this one revokes (a lifting) or replaces."
    )
    published_at = serializers.DateTimeField()


_KEY_ID_HELP = "The first 16 hex digits of the SHA-256 of the raw public key."
_NEXT_KEY_HELP = (
    "The key this platform will sign with next (base64 of the raw 32 bytes), announced ahead of "
    "a key change; absent when none is announced. In a page it is covered by the current key's "
    "signature: a reader keeps it and takes pages signed with it once they stop verifying with "
    "the current key."
)


class FeedPageOut(serializers.Serializer):
    platform = serializers.CharField()
    key_id = serializers.CharField(help_text="The signing key's id. " + _KEY_ID_HELP)
    next_public_key = serializers.CharField(required=False, help_text=_NEXT_KEY_HELP)
    entries = FeedEntryOut(many=True)
    next_after = serializers.IntegerField(help_text="Ask with after= this for the next page.")
    signature = serializers.CharField(
        help_text="Ed25519, base64, over the canonical JSON (sorted keys, no spaces, UTF-8) of "
        "the page without its signature."
    )


class FeedKeyOut(serializers.Serializer):
    platform = serializers.CharField()
    algorithm = serializers.CharField()
    public_key = serializers.CharField(help_text="Base64 of the raw 32-byte Ed25519 key.")
    key_id = serializers.CharField(help_text=_KEY_ID_HELP)
    next_public_key = serializers.CharField(required=False, help_text=_NEXT_KEY_HELP)


class FeedView(APIView):
    required_scopes = ["credit:feed"]

    @extend_schema(
        operation_id="credit_feed",
        tags=["credit sharing"],
        summary="The signed feed of shared credit records",
        parameters=[
            OpenApiParameter("after", int, description="Entries after this sequence number."),
            OpenApiParameter("limit", int, description=f"At most {sharing.FEED_PAGE_MAX}."),
        ],
        responses={
            200: FeedPageOut,
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="A bad after or limit."),
            403: OpenApiResponse(
                OpenApiTypes.OBJECT, description="The key lacks credit:feed, or is a party's."
            ),
        },
    )
    def get(self, request):
        key = request.auth
        if isinstance(key, ApiKey) and key.party_id is not None:
            raise PermissionDenied(_("The credit feed is for the consortium's platforms."))
        query = FeedQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(sharing.feed_page(**query.validated_data))


class FeedKeyView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="credit_feed_key",
        tags=["credit sharing"],
        summary="The public key that signs the credit feed",
        responses={200: FeedKeyOut},
    )
    def get(self, request):
        current = sharing.public_key()
        body = {
            "platform": settings.CREDIT_PLATFORM_NAME,
            "algorithm": "Ed25519",
            "public_key": current,
            "key_id": sharing.key_id(current),
        }
        if announced := sharing.next_public_key():
            body["next_public_key"] = announced
        return Response(body)
