"""The go-live gate's PostgreSQL path (liverooms/prepared.py, liverooms/services.py): prepared
statements with generic plans, one statement for the session, no separate health check, and a
connection that died while idle replaced without failing the decision."""

import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.actors import Actor
from liverooms.models import LiveSession, SessionAnchor, SessionProduct
from liverooms.services import room_register
from merchants.services import product_register
from tests.factories import TEST_ACTOR, UserFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def go_live(settings, tmp_path, make_key):
    from tests.liverooms.conftest import REVIEWED, approved_anchor, approved_merchant

    settings.MEDIA_ROOT = tmp_path
    reviewer = Actor.for_user(UserFactory(roles=["compliance_reviewer"]))
    merchant = approved_merchant(reviewer)
    anchor = approved_anchor(reviewer)
    products = [
        product_register(
            merchant=merchant,
            platform_ref=f"pg-{i}",
            title=f"商品{i}",
            category="apparel",
            actor=TEST_ACTOR,
        )
        for i in range(3)
    ]
    room = room_register(
        owner=merchant, platform_ref="pg-room", title="直播间", category="apparel", actor=TEST_ACTOR
    )
    _key, raw = make_key()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    def post():
        body = {
            "room_id": room.pk,
            "anchor_ids": [anchor.pk],
            "product_ids": [p.pk for p in products],
            "pre_stream_checklist": REVIEWED,
        }
        return client.post("/api/v1/live-sessions/", body, format="json")

    return post


def _end_all():
    LiveSession.objects.filter(status="live").update(status="ended")


def test_the_gates_statements_are_prepared_and_never_planned_again(go_live):
    for _ in range(8):
        assert go_live().status_code == 201
        _end_all()
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        statements = cursor.fetchall()
    read = [s for s in statements if "WITH room AS" in s[0]]
    write = [s for s in statements if "INSERT INTO" in s[0] and "liverooms_livesession" in s[0]]
    assert len(read) == len(write) == 1, statements
    assert read[0][1:] == (8, 0)
    assert write[0][1:] == (8, 0)


def test_the_session_its_anchors_and_products_are_one_statement_in_autocommit(go_live):
    go_live()  # the key is looked up and its use recorded
    _end_all()
    with CaptureQueriesContext(connection) as ctx:
        response = go_live()
    assert response.status_code == 201, response.content
    # The read and the write; no BEGIN, no COMMIT, no health check.
    assert [q["sql"].split(None, 1)[0] for q in ctx] == ["WITH", "WITH"]
    session = LiveSession.objects.get(pk=response.json()["id"])
    assert SessionAnchor.objects.filter(session=session).count() == 1
    assert SessionProduct.objects.filter(session=session).count() == 3
    # A room on air: the one statement fails whole, and the connection stays usable.
    assert go_live().status_code == 409
    assert LiveSession.objects.filter(status="live").count() == 1


def test_a_connection_that_died_while_idle_is_replaced_without_failing_the_decision(go_live):
    assert go_live().status_code == 201
    _end_all()
    checks = []
    original = connection.is_usable

    def counted():
        checks.append(1)
        return original()

    connection.is_usable = counted
    try:
        connection.connection.close()  # as a restarted server would leave it
        assert go_live().status_code == 201
    finally:
        del connection.is_usable
    assert checks == [1]  # asked only once the read had failed
    _end_all()
    assert go_live().status_code == 201
    assert checks == [1]


def test_the_throttle_counts_on_after_redis_drops_its_connections(settings):
    import redis
    from django.core.cache import caches

    from config.api.throttling import ApiKeyRateThrottle, _counter

    assert type(caches["default"]).__name__ == "RedisCache"
    throttle = ApiKeyRateThrottle()
    key = f"test-reconnect-{threading.get_ident()}"
    first = throttle.count(key)
    # What a Redis restart or failover does to the connection the counter keeps (only that
    # one: the worker's connections belong to other tests).
    kept = _counter(caches["default"]).registered_client.client_id()
    redis.Redis.from_url(settings.REDIS_URL).client_kill_filter(_id=kept)
    assert throttle.count(key) == first + 1


def test_instrumentation_sees_the_gates_statements_and_a_conflict_is_djangos_error(go_live):
    seen = []

    def watch(execute, sql, params, many, context):
        seen.append(sql.split(None, 1)[0])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        assert go_live().status_code == 201
    assert seen.count("WITH") == 2  # the read and the write, as any other query would be seen
    # Without instrumentation or query logging the statements skip Django's cursor wrapper, and
    # its error translation still holds: the room is on air, a 409 and not a server error.
    assert go_live().status_code == 409
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
