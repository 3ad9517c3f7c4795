"""The API's endpoints as the URL resolver serves them, and the ways the matrix asks them."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from django.apps import apps
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from accounts.models import Party
from accounts.scopes import SCOPES
from tests.security.snapshot import Writes

PREFIX = "api/v1/"
METHODS = ("get", "post", "put", "patch", "delete")
# Ids no record has: the answer every party-bound key must also get for another party's record.
MISSING = {"pk": 999_999_999, "party_id": 999_999_999, "tracking_code": "CZZZZZZZZZ"}
# A key's use is recorded on the key (last used): that is the key's, not the product's data.
KEY_TABLES = {"accounts_apikey"}
_names = itertools.count(1)


def _walk(patterns, prefix):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def served() -> dict[tuple[str, str], str]:
    """(URL name, method) -> route, for every method each API route answers."""
    endpoints = {}
    for route, pattern in _walk(get_resolver().url_patterns, ""):
        if not route.startswith(PREFIX):
            continue
        callback = pattern.callback
        methods = getattr(callback, "actions", None)
        view = getattr(callback, "cls", None) or callback.view_class
        if methods is None:
            methods = {m: m for m in METHODS if hasattr(view, m)}
        for method in methods:
            if method not in view.http_method_names:
                continue  # routed, but the view declines it (405) before anything else
            endpoints[(pattern.name, method)] = route
    return endpoints


_KWARG = re.compile(r"\(\?P<(\w+)>[^)]*\)|<(?:\w+:)?(\w+)>")


def is_detail(route: str) -> bool:
    return bool(_KWARG.search(route))


def url_value(records, obj):
    return getattr(obj, records.url_attr)


def fill_detail(route: str, records, obj) -> str:
    def value(match):
        name = match.group(1) or match.group(2)
        if name == "version":
            from credit.models import RuleSet

            return str(RuleSet.objects.order_by("version").first().version)
        if obj is None:
            return str(MISSING.get(name, MISSING["pk"]))
        return str(url_value(records, obj))

    return "/" + _KWARG.sub(value, route.replace("^", "").replace("$", ""))


@dataclass
class Owned:
    obj: object
    party: Party


def _owners(records, obj) -> set[int]:
    model = obj.__class__
    row = model._default_manager.filter(pk=obj.pk).values_list(*records.owners).get()
    return {party for party in row if party is not None}


def two_parties(records) -> tuple[Owned, Owned]:
    """A record of party A and one of party B (which is not about A), among those a party's own
    key sees at all."""
    model = apps.get_model(records.model)
    candidates = list(
        model._default_manager.filter(**(records.visible_to_party or {})).order_by("pk")
    )
    assert candidates, f"no {records.model} for the matrix to ask about"
    first = candidates[0]
    party_a = min(_owners(records, first))
    for obj in candidates[1:]:
        if party_a not in _owners(records, obj):
            b = Owned(obj, Party.objects.get(pk=min(_owners(records, obj))))
            return Owned(first, Party.objects.get(pk=party_a)), b
    raise AssertionError(f"no {records.model} of a second party for the matrix to ask about")


def some_party() -> Party:
    return Party.objects.order_by("pk").first()


def let_through(method: str):
    """A permitted GET reads (200); a permitted write with an empty body is answered on its
    merits (done, or 400/409 for what the body lacks) -- never refused for want of a right."""
    if method == "get":
        return lambda status: status == 200
    return lambda status: status not in (401, 403, 404, 405) and status < 500


def listed(response, records) -> list:
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    return [row[records.list_field] for row in rows]


class Asker:
    def __init__(self, method: str, make_key):
        self.method = method
        self.make_key = make_key

    def _client(self, key, scopes, party) -> APIClient:
        client = APIClient(raise_request_exception=False)
        if key:
            _key, raw = self.make_key(scopes=scopes, party=party, name=f"matrix-{next(_names)}")
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client

    def __call__(self, path, *, key=True, scopes=tuple(SCOPES), party=None):
        client = self._client(bool(key), scopes, party)
        with transaction.atomic():
            response = self._send(client, path)
            transaction.set_rollback(True)
        return response

    def refused(self, path, *, key=True, scopes=tuple(SCOPES), party=None):
        """Ask, and record what was written while being answered."""
        client = self._client(bool(key), scopes, party)
        with transaction.atomic(), Writes() as writes:
            response = self._send(client, path)
            transaction.set_rollback(True)
        writes.ignore(KEY_TABLES)
        return response, writes

    def _send(self, client, path):
        if self.method == "get":
            return client.get(path)
        return getattr(client, self.method)(path, {}, format="json")
