"""What the merchants', anchors' and agencies' file endpoints share: the common fields, document
upload, submission with the entry-check results, filters and party scoping.

Each file is addressed by its party's id, the one id the platform uses everywhere.
"""

import re
import unicodedata

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError as StdnumError

from accounts import registration
from accounts.actors import Actor
from accounts.api.permissions import PartyScopedMixin, ReadWriteScopes
from accounts.models import (
    ChangeReason,
    DocumentKind,
    FileDocument,
    FileStatus,
    RegistrationFile,
)
from config.api.filters import IsoDateTimeFilter
from config.api.schema import AutoSchema

# ASCII digits only: `\d` alone also matches other scripts' digits, which would be stored as typed.
MOBILE = re.compile(r"^(?:\+?86)?1[3-9]\d{9}$", re.ASCII)
LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(?:-\d{1,6})?$", re.ASCII)


def validate_phone(value: str) -> str:
    # Full-width digits and signs, as Chinese input methods often type them, read as ASCII.
    compact = re.sub(r"[\s()]", "", unicodedata.normalize("NFKC", value))
    if not (MOBILE.match(compact) or LANDLINE.match(compact)):
        raise serializers.ValidationError(
            _("Give a mainland mobile number (13812345678) or a landline (0571-88881234).")
        )
    return compact


class PhoneField(serializers.CharField):
    """A contact number, kept as validate_phone writes it: ASCII, without spaces or brackets."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 32)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        return validate_phone(super().to_internal_value(data))


def validate_credit_code(value: str) -> str:
    try:
        return uscc.validate(value)
    except StdnumError as exc:
        raise serializers.ValidationError(
            _("Not a valid unified social credit code (%(reason)s).") % {"reason": exc.message}
        ) from None


def validate_id_number(value: str) -> str:
    try:
        return ric.validate(value)
    except StdnumError as exc:
        raise serializers.ValidationError(
            _("Not a valid resident ID number (%(reason)s).") % {"reason": exc.message}
        ) from None


def revalidate_nested_in_full(serializer, attrs: dict, nested: dict) -> dict:
    """In a PATCH, DRF treats nested serializers as partial too and skips their required fields;
    but a licence or a qualification is replaced whole, so each nested value sent is validated
    again without `partial`. `nested` maps a field name to (serializer class, many)."""
    if not serializer.partial:
        return attrs
    for name, (serializer_class, many) in nested.items():
        value = serializer.initial_data.get(name)
        if name not in serializer.initial_data or value is None:
            continue
        full = serializer_class(data=value, many=many, context=serializer.context)
        if not full.is_valid():
            raise serializers.ValidationError({name: full.errors})
        attrs[name] = full.validated_data
    return attrs


class DocumentOut(serializers.ModelSerializer):
    # Blank unless a reviewer asked for the document to be changed; the model field is not
    # editable, and the REST framework then derives a field that leaves blank out of the schema.
    change_reason = serializers.ChoiceField(
        choices=ChangeReason.choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = FileDocument
        fields = [
            "id",
            "kind",
            "version",
            "sha256",
            "content_type",
            "width",
            "height",
            "size",
            "uploaded_at",
            "review",
            "change_reason",
            "change_note",
        ]


class DocumentIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DocumentKind.choices)
    file = serializers.FileField(help_text=_("A JPEG, PNG or WebP image."))


class CheckOut(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    field = serializers.CharField(allow_blank=True)


class FileOut(serializers.ModelSerializer):
    """The common part of a file's representation."""

    id = serializers.IntegerField(source="party_id", read_only=True)
    platform_ref = serializers.CharField(source="party.platform_ref", read_only=True)
    # Null until a version of the party's file is first approved.
    approved_at = serializers.DateTimeField(
        source="party.approved_at", read_only=True, allow_null=True
    )
    reverification_due_at = serializers.DateTimeField(
        source="party.reverification_due_at", read_only=True, allow_null=True
    )
    sealed_version = serializers.IntegerField(
        source="sealed_version.version", read_only=True, allow_null=True, default=None
    )
    last_check_results = CheckOut(many=True, read_only=True)
    documents = DocumentOut(many=True, read_only=True)

    class Meta:
        model = RegistrationFile
        common_fields = [
            "id",
            "platform_ref",
            "status",
            "version",
            "sealed_version",
            "name",
            "contact_phone",
            "contact_email",
            "address",
            "submitted_at",
            "decided_at",
            "approved_at",
            "reverification_due_at",
            "change_review_due",
            "change_review_due_estimated",
            "last_check_results",
            "documents",
            "created_at",
            "updated_at",
        ]
        fields = common_fields


class FileFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=FileStatus.choices)
    updated_after = IsoDateTimeFilter(field_name="updated_at", lookup_expr="gt")
    platform_ref = django_filters.CharFilter(field_name="party__platform_ref")

    class Meta:
        model = RegistrationFile
        fields = ["status", "updated_after", "platform_ref"]


SubmitOut = inline_serializer(
    "SubmitResult",
    {
        "accepted": serializers.BooleanField(),
        "status": serializers.CharField(),
        "checks": CheckOut(many=True),
    },
)


class FileSchema(AutoSchema):
    """A file is written with the view's input serializer and answered, like every read, with
    its output serializer; drf-spectacular, asking get_serializer_class, would document the
    answer to a create or a change as the input."""

    def get_response_serializers(self):
        if self.view.action in ("create", "partial_update", "update"):
            return self.view.output_serializer
        return super().get_response_serializers()


class FileViewSet(
    ReadWriteScopes,
    PartyScopedMixin,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Base for /merchants/, /anchors/ and /agencies/. Subclasses set `kind`, the serializers,
    `related` (select_related / prefetch_related paths) and implement create/update."""

    kind: str
    schema = FileSchema()
    lookup_field = "party_id"
    lookup_url_kwarg = "id"
    filterset_class = FileFilter
    http_method_names = ["get", "post", "patch", "head", "options"]
    select: tuple[str, ...] = ()
    prefetch: tuple[str, ...] = ()
    input_serializer: type[serializers.Serializer]
    output_serializer: type[serializers.Serializer]

    read_scope = "registration:read"
    write_scope = "registration:write"

    def base_queryset(self):
        return (
            RegistrationFile.objects.filter(kind=self.kind)
            .select_related("party", "sealed_version", *self.select)
            .prefetch_related("documents", *self.prefetch)
        )

    def get_serializer_class(self):
        if self.action in ("create", "partial_update", "update"):
            return self.input_serializer
        return self.output_serializer

    def actor(self) -> Actor:
        return Actor.for_api_key(self.request.auth)

    def respond(self, file: RegistrationFile, code=status.HTTP_200_OK) -> Response:
        fresh = self.base_queryset().get(pk=file.pk)
        return Response(self.output_serializer(fresh).data, status=code)

    def create(self, request, *args, **kwargs):
        if request.auth.party_id is not None:
            # A key bound to one party acts for that party only; registering others is the
            # platform's.
            raise PermissionDenied(_("A key bound to a party cannot register new parties."))
        serializer = self.input_serializer(data=request.data, context={"view": self})
        serializer.is_valid(raise_exception=True)
        return self.respond(self.perform_create_file(serializer.validated_data), 201)

    def partial_update(self, request, *args, **kwargs):
        file = self.get_object()
        serializer = self.input_serializer(
            data=request.data, partial=True, context={"view": self, "file": file}
        )
        serializer.is_valid(raise_exception=True)
        return self.respond(self.perform_update_file(file, serializer.validated_data))

    def update(self, request, *args, **kwargs):
        return self.partial_update(request, *args, **kwargs)

    @extend_schema(request={"multipart/form-data": DocumentIn}, responses={201: DocumentOut})
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser])
    def documents(self, request, id=None):
        """Upload a document image in the field `file`; it is validated, re-encoded without
        metadata and stored privately. A refused file stores nothing."""
        file = self.get_object()
        payload = DocumentIn(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            document = registration.document_add(
                file=file,
                kind=payload.validated_data["kind"],
                upload=payload.validated_data["file"],
                actor=self.actor(),
            )
        except DjangoValidationError as exc:
            if hasattr(exc, "error_dict"):
                raise
            raise serializers.ValidationError({"file": exc.messages}) from None
        return Response(DocumentOut(document).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: SubmitOut, 400: SubmitOut})
    @action(detail=True, methods=["post"])
    def submit(self, request, id=None):
        """Run every entry check. All pass: the file goes to review (200). Any fail: 400 with
        every failure, and the file stays as it was."""
        file = self.get_object()
        result = registration.file_submit(file=file, actor=self.actor())
        file.refresh_from_db(fields=["status"])
        body = {
            "accepted": result.accepted,
            "status": file.status,
            "checks": [f.as_dict() for f in result.failures],
        }
        return Response(body, status=200 if result.accepted else 400)
