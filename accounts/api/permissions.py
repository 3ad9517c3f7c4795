"""Deny by default: an API view is open only to keys holding every scope it declares in
`required_scopes`; a view that declares none is closed. Keys bound to a party are also confined
to that party's objects (see PartyScopedMixin)."""

from rest_framework import permissions

from accounts.models import ApiKey
from config.api.lookups import require_storable_id


class HasScopes(permissions.BasePermission):
    def has_permission(self, request, view):
        key = request.auth
        if not isinstance(key, ApiKey):
            return False
        required = getattr(view, "required_scopes", None)
        if required is None:
            return False
        return set(required) <= set(key.scopes)

    def has_object_permission(self, request, view, obj):
        key = request.auth
        if key.party_id is None:
            return True
        owner = getattr(view, "object_party_id", None)
        return owner is not None and owner(obj) == key.party_id


class ReadWriteScopes:
    """For views whose reads and writes need different scopes: `read_scope` for GET, HEAD and
    OPTIONS, `write_scope` for everything else."""

    read_scope: str
    write_scope: str

    @property
    def required_scopes(self):
        read = self.request.method in permissions.SAFE_METHODS
        return [self.read_scope] if read else [self.write_scope]


class PartyScopedMixin:
    """For views over objects that belong to a party: a key bound to a party lists and reaches
    only that party's objects. Others' objects are 404, not 403, so their existence is not
    disclosed. `party_lookup` is the queryset path to the owning party's id."""

    party_lookup = "party_id"

    def base_queryset(self):
        raise NotImplementedError

    def get_queryset(self):
        queryset = self.base_queryset()
        key = self.request.auth
        if isinstance(key, ApiKey) and key.party_id is not None:
            queryset = queryset.filter(**{self.party_lookup: key.party_id})
        return queryset

    def get_object(self):
        require_storable_id(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field, ""))
        return super().get_object()

    def object_party_id(self, obj):
        value = obj
        for part in self.party_lookup.split("__"):
            value = getattr(value, part)
        return value
