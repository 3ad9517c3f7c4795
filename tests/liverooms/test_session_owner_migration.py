"""Migrations 0013 and 0014: the sessions written before a session recorded its operator take
their room's owner, and the column is then required."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from liverooms.models import LiveSession
from liverooms.services import room_register
from tests.factories import TEST_ACTOR, register_party

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

BEFORE = [("liverooms", "0012_session_product_labels")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def latest():
    """Every app at its newest migration, as the tests after this one expect the database."""
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def test_sessions_from_before_take_the_owner_of_their_room():
    merchant = register_party("merchant", name="老东家")
    anchor = register_party("anchor", name="主播甲")
    rooms = [
        room_register(
            owner=owner, platform_ref=f"m-{n}", title="直播间", category="apparel", actor=TEST_ACTOR
        )
        for n, owner in enumerate((merchant, anchor))
    ]
    try:
        old = migrate(BEFORE).get_model("liverooms", "LiveSession")
        ids = [old.objects.create(room_id=room.pk, status="ended").pk for room in rooms]
        ids.append(old.objects.create(room_id=rooms[0].pk).pk)
    finally:
        migrate(latest())

    owners = dict(LiveSession.objects.filter(pk__in=ids).values_list("pk", "owner_id"))
    assert owners == {ids[0]: merchant.pk, ids[1]: anchor.pk, ids[2]: merchant.pk}
    with connection.cursor() as cursor:
        columns = connection.introspection.get_table_description(cursor, "liverooms_livesession")
    assert {c.name: c.null_ok for c in columns}["owner_id"] is False
    # And the database is left whole, every later migration applied again, for the tests after.
    assert MigrationExecutor(connection).migration_plan(latest()) == []
