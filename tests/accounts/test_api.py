"""The API skeleton through the registry endpoints: keys, scopes, party binding, filters,
pagination, throttling, errors and the schema."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.models import ApiKey, PartyKind, RestrictionKind
from tests.factories import TEST_ACTOR, register_party

pytestmark = pytest.mark.django_db


def client_with(raw):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


# --- keys ------------------------------------------------------------------------------------


def test_key_is_stored_only_as_its_digest(make_key):
    key, raw = make_key(name="platform")
    stored = ApiKey.objects.filter(pk=key.pk).values().get()
    assert raw not in {str(v) for v in stored.values()}
    assert stored["key_hash"] == services.api_key_digest(raw)
    assert raw.startswith(stored["prefix"])


def test_create_api_key_command_prints_the_key_on_its_last_line(capsys):
    call_command("create_api_key", "from-cli", "--scope", "parties:read")
    raw = capsys.readouterr().out.strip().splitlines()[-1]
    response = client_with(raw).get("/api/v1/key/")
    assert response.status_code == 200
    assert response.json() == {"name": "from-cli", "scopes": ["parties:read"], "party_id": None}


def test_a_fresh_key_works_and_a_revoked_one_gets_401(make_key):
    key, raw = make_key(name="to-revoke")
    client = client_with(raw)
    assert client.get("/api/v1/parties/").status_code == 200
    services.api_key_revoke(key=key, actor=TEST_ACTOR)
    response = client.get("/api/v1/parties/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def _revoke_elsewhere(key):
    """Revoked by another process (the admin on another server): this process's cache of keys
    is not told."""
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now(), revoked_by="user:other")


class _Clock:
    def __init__(self, monkeypatch):
        from accounts.api import authentication

        self.now = 1000.0
        monkeypatch.setattr(authentication.time, "monotonic", lambda: self.now)


def test_a_key_is_looked_up_once_per_process_every_few_seconds(make_key, monkeypatch, settings):
    settings.API_KEY_CACHE_SECONDS = 5
    clock = _Clock(monkeypatch)
    _key, raw = make_key(name="cached")
    client = client_with(raw)
    client.get("/api/v1/key/")

    def key_lookups():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/api/v1/key/").status_code == 200
        return sum('"accounts_apikey"' in q["sql"] and "SELECT" in q["sql"] for q in ctx)

    assert key_lookups() == 0
    clock.now += 4.9
    assert key_lookups() == 0
    clock.now += 0.2
    assert key_lookups() == 1


def test_a_key_revoked_in_another_process_stops_working_within_the_cache_bound(
    make_key, monkeypatch, settings
):
    settings.API_KEY_CACHE_SECONDS = 5
    clock = _Clock(monkeypatch)
    key, raw = make_key(name="revoked-elsewhere")
    client = client_with(raw)
    assert client.get("/api/v1/key/").status_code == 200
    _revoke_elsewhere(key)
    clock.now += 4.9
    assert client.get("/api/v1/key/").status_code == 200  # still trusted, for at most 5 s
    clock.now += 0.2
    response = client.get("/api/v1/key/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_with_the_cache_off_a_key_revoked_elsewhere_stops_working_at_once(make_key, settings):
    settings.API_KEY_CACHE_SECONDS = 0
    key, raw = make_key(name="uncached")
    client = client_with(raw)
    assert client.get("/api/v1/key/").status_code == 200
    _revoke_elsewhere(key)
    assert client.get("/api/v1/key/").status_code == 401


def test_unknown_keys_are_never_cached(api):
    client = client_with("lcc_not-a-real-key")
    for _ in range(2):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/api/v1/key/").status_code == 401
        assert len(ctx) == 1


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer a b", "Bearer lcc_not-a-real-key", "Bearer \u00e9\u00e9", "Token abc"],
)
def test_missing_malformed_or_unknown_keys_get_401(header):
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/parties/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("value", [None, "Bearer abc", b"Bearer abc", "Bearer \u00e9"])
def test_the_header_is_read_as_the_rest_framework_reads_it_without_building_headers(value):
    from rest_framework.authentication import get_authorization_header
    from rest_framework.test import APIRequestFactory

    from accounts.api.authentication import authorization_header

    extra = {} if value is None else {"HTTP_AUTHORIZATION": value}
    ours = APIRequestFactory().get("/api/v1/key/", **extra)
    theirs = APIRequestFactory().get("/api/v1/key/", **extra)
    assert authorization_header(ours) == get_authorization_header(theirs)
    # `request.headers` is a cached property: reading the key must not have built it.
    assert "headers" not in ours.__dict__
    assert "headers" in theirs.__dict__


def test_a_key_without_the_scope_gets_403(make_key):
    _key, raw = make_key(scopes=["webhooks:manage"], name="narrow")
    assert client_with(raw).get("/api/v1/parties/").status_code == 403


def test_last_used_is_recorded_at_most_once_a_minute(make_key, time_machine):
    time_machine.move_to("2026-11-23 09:00 +08:00", tick=False)
    key, raw = make_key(name="touch")
    client = client_with(raw)
    client.get("/api/v1/key/")
    key.refresh_from_db()
    first = key.last_used_at
    assert first is not None
    time_machine.move_to("2026-11-23 09:00:30 +08:00", tick=False)
    client.get("/api/v1/key/")
    key.refresh_from_db()
    assert key.last_used_at == first
    time_machine.move_to("2026-11-23 09:01:30 +08:00", tick=False)
    client.get("/api/v1/key/")
    key.refresh_from_db()
    assert key.last_used_at > first


# --- object permissions ----------------------------------------------------------------------


def test_a_party_bound_key_sees_only_its_own_party(make_key):
    own = register_party()
    other = register_party()
    services.restriction_impose(
        party=other, kind=RestrictionKind.LIVE, reason="x", actor=TEST_ACTOR
    )
    _key, raw = make_key(scopes=["parties:read"], party=own, name="merchant-own")
    client = client_with(raw)
    listed = client.get("/api/v1/parties/").json()["results"]
    assert [p["id"] for p in listed] == [own.pk]
    assert client.get(f"/api/v1/parties/{own.pk}/").status_code == 200
    assert client.get(f"/api/v1/parties/{other.pk}/").status_code == 404
    assert client.get("/api/v1/restrictions/").json()["results"] == []
    assert client.get(f"/api/v1/restrictions/?party={other.pk}").json()["results"] == []


# --- lists, filters, pagination ----------------------------------------------------------------


def test_parties_filter_by_kind_and_updated_after(api, time_machine):
    time_machine.move_to("2026-11-01 10:00 +08:00", tick=False)
    old_anchor = register_party(kind=PartyKind.ANCHOR)
    time_machine.move_to("2026-11-20 10:00 +08:00", tick=False)
    new_anchor = register_party(kind=PartyKind.ANCHOR)
    register_party(kind=PartyKind.MERCHANT)

    anchors = api.get("/api/v1/parties/", {"kind": "anchor"}).json()["results"]
    assert [p["id"] for p in anchors] == [new_anchor.pk, old_anchor.pk]
    recent = api.get(
        "/api/v1/parties/", {"kind": "anchor", "updated_after": "2026-11-10T00:00:00+08:00"}
    ).json()["results"]
    assert [p["id"] for p in recent] == [new_anchor.pk]


def test_bad_filter_values_get_400_with_the_field_named(api):
    response = api.get("/api/v1/parties/", {"kind": "emperor", "updated_after": "yesterday"})
    assert response.status_code == 400
    assert set(response.json()) == {"kind", "updated_after"}


def test_restrictions_in_force_filter(api):
    party = register_party()
    now = timezone.now()
    current = services.restriction_impose(
        party=party, kind=RestrictionKind.LIVE, reason="在播违规", actor=TEST_ACTOR
    )
    ended = services.restriction_impose(
        party=party,
        kind=RestrictionKind.TRAFFIC,
        reason="限流",
        actor=TEST_ACTOR,
        starts_at=now - timedelta(days=10),
        ends_at=now - timedelta(days=1),
    )
    lifted = services.restriction_impose(
        party=party, kind=RestrictionKind.LISTING, reason="限制发布", actor=TEST_ACTOR
    )
    services.restriction_lift(restriction=lifted, reason="申诉成立", actor=TEST_ACTOR)

    in_force = api.get("/api/v1/restrictions/", {"party": party.pk, "in_force": "true"}).json()
    assert [r["id"] for r in in_force["results"]] == [current.pk]
    not_in_force = api.get("/api/v1/restrictions/", {"party": party.pk, "in_force": "false"}).json()
    assert {r["id"] for r in not_in_force["results"]} == {ended.pk, lifted.pk}
    detail = api.get(f"/api/v1/parties/{party.pk}/").json()
    assert [r["id"] for r in detail["restrictions_in_force"]] == [current.pk]


def test_cursor_pages_cover_every_party_once(api):
    ids = {register_party().pk for _ in range(7)}
    seen, url = [], "/api/v1/parties/?page_size=3"
    while url:
        body = api.get(url).json()
        seen += [p["id"] for p in body["results"]]
        url = body["next"]
    assert sorted(seen) == sorted(ids)
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize("path", ["/api/v1/parties/", "/api/v1/restrictions/"])
def test_list_query_count_does_not_grow_with_the_page(api, path):
    for _ in range(30):
        party = register_party()
        services.restriction_impose(
            party=party, kind=RestrictionKind.LIVE, reason="x", actor=TEST_ACTOR
        )

    def queries(page_size):
        api.get("/api/v1/key/")  # settle last_used_at so it is not written during the count
        with CaptureQueriesContext(connection) as ctx:
            assert api.get(path, {"page_size": page_size}).status_code == 200
        return len(ctx)

    assert queries(2) == queries(30)


# --- errors, throttling, schema ----------------------------------------------------------------


def test_an_unknown_api_route_is_a_json_404(api):
    response = api.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "not_found"


def test_a_missing_party_is_a_json_404(api):
    response = api.get("/api/v1/parties/999999/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_throttled_requests_get_429_with_retry_after(make_key, monkeypatch, time_machine):
    from rest_framework.throttling import SimpleRateThrottle

    # Inside one fixed window: 10:00:05 leaves 55 s to its end.
    time_machine.move_to("2026-11-23 10:00:05 +08:00", tick=False)
    # DRF copies the rates into this class attribute at import; monkeypatch puts it back.
    monkeypatch.setattr(
        SimpleRateThrottle, "THROTTLE_RATES", {"api_key": "3/minute", "anonymous": "2/minute"}
    )
    _key, raw = make_key(name="throttled")
    client = client_with(raw)
    codes = [client.get("/api/v1/key/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    response = client.get("/api/v1/key/")
    assert int(response["Retry-After"]) == 55
    # Anonymous callers are limited per address on the endpoints open to them.
    anonymous = [APIClient().get("/api/schema/").status_code for _ in range(3)]
    assert anonymous == [200, 200, 429]
    # The next window starts afresh.
    time_machine.move_to("2026-11-23 10:01:00 +08:00", tick=False)
    assert client.get("/api/v1/key/").status_code == 200


def test_schema_and_docs_are_served_without_a_cdn(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/v1/parties/", "/api/v1/restrictions/", "/api/v1/key/"} <= set(paths)
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "cdn" not in html.lower()
    assert "/static/drf_spectacular_sidecar/" in html
