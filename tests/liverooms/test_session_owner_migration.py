"""Migrations 0013 and 0014: the sessions written before a session recorded its operator take
their room's owner, and the column is then required."""

import pytest
from django.db import connection, models
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.test.utils import CaptureQueriesContext

from config.migration_operations import AddForeignKeyOnline, SetNotNullOnline
from liverooms.models import LiveSession
from liverooms.services import room_register
from tests.factories import TEST_ACTOR, register_party

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

BEFORE = [("liverooms", "0012_session_product_labels")]
AFTER_0013 = ("liverooms", "0013_session_owner")
AFTER_0014 = ("liverooms", "0014_session_owner_required")


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


@pytest.mark.postgres
def test_on_postgresql_the_sessions_table_stays_in_use_while_it_changes():
    """No step holds the table exclusively while it reads it: the constraints come NOT VALID and
    are validated afterwards, the rows are filled in batches, the index is built concurrently; and
    what is left is what the plain operations would leave."""
    merchant = register_party("merchant", name="老东家")
    room = room_register(
        owner=merchant, platform_ref="m-pg", title="直播间", category="apparel", actor=TEST_ACTOR
    )
    try:
        old = migrate(BEFORE).get_model("liverooms", "LiveSession")
        ids = [old.objects.create(room_id=room.pk, status="ended").pk for _ in range(3)]
        with CaptureQueriesContext(connection) as applied:
            migrate(latest())
    finally:
        migrate(latest())

    statements = [" ".join(q["sql"].split()) for q in applied.captured_queries]
    ddl = [s for s in statements if s.startswith(("ALTER TABLE", "CREATE INDEX", "CREATE UNIQUE"))]
    session_ddl = [s for s in ddl if '"liverooms_livesession"' in s]
    assert any("ADD COLUMN IF NOT EXISTS" in s and "REFERENCES" not in s for s in session_ddl)
    assert any("FOREIGN KEY" in s and s.endswith("NOT VALID") for s in session_ddl)
    assert any("CHECK" in s and s.endswith("NOT VALID") for s in session_ddl)
    assert sum("VALIDATE CONSTRAINT" in s for s in session_ddl) == 2
    # SET NOT NULL comes only once the NULL check is validated, so that it reads no row.
    validated = next(
        i for i, s in enumerate(session_ddl) if "VALIDATE CONSTRAINT" in s and "_notnull" in s
    )
    assert [i for i, s in enumerate(session_ddl) if "SET NOT NULL" in s] == [validated + 1]
    assert any(s.startswith('CREATE INDEX CONCURRENTLY "session_owner_idx"') for s in ddl)
    assert not [s for s in ddl if "session_owner_idx" in s and "CONCURRENTLY" not in s]
    assert "SET lock_timeout = '5s'" in statements

    assert set(LiveSession.objects.filter(pk__in=ids).values_list("owner_id", flat=True)) == {
        merchant.pk
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, contype, convalidated FROM pg_constraint"
            " WHERE conrelid = 'liverooms_livesession'::regclass AND contype IN ('c', 'f')"
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT a.attnotnull FROM pg_attribute a WHERE a.attrelid ="
            " 'liverooms_livesession'::regclass AND a.attname = 'owner_id'"
        )
        (not_null,) = cursor.fetchone()
        cursor.execute(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE c.relname = 'session_owner_idx'"
        )
        (index_valid,) = cursor.fetchone()
    assert not_null and index_valid
    # The owner's foreign key is there and validated; the NULL check is gone again.
    assert all(validated for _, _, validated in constraints)
    assert not [name for name, kind, _ in constraints if name.endswith("_notnull")]
    assert [kind for name, kind, _ in constraints if "owner_id" in name] == ["f"]


def _owner(**changes):
    options = {
        "db_index": False,
        "editable": False,
        "on_delete": models.PROTECT,
        "related_name": "sessions_run",
        "to": "accounts.party",
        "verbose_name": "operator",
    }
    return models.ForeignKey(**{**options, **changes})


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("operation", "state"),
    [
        # A required key cannot be added without a default to write into every row.
        (AddForeignKeyOnline("livesession", "owner", _owner()), BEFORE[0]),
        # Anything beyond NULL to NOT NULL is the plain AlterField's, with its locks.
        (SetNotNullOnline("livesession", "owner", _owner(related_name="runs")), AFTER_0013),
        (SetNotNullOnline("livesession", "owner", _owner(null=True)), AFTER_0013),
    ],
)
def test_the_online_operations_refuse_a_change_they_cannot_make_online(operation, state):
    before = MigrationLoader(connection).project_state(state)
    after = before.clone()
    operation.state_forwards("liverooms", after)
    with connection.schema_editor(atomic=False) as editor:
        with pytest.raises(ValueError, match=operation.__class__.__name__):
            operation.database_forwards("liverooms", editor, before, after)
        assert editor.deferred_sql == []


@pytest.mark.postgres
def test_the_online_operations_can_be_run_again_on_a_table_they_already_changed():
    """`migrate` stopped by the lock timeout half-way is run again: each operation finds what its
    first run left (the column, the validated key, the NOT NULL) and completes without error."""
    loader = MigrationLoader(connection)
    before, after_0013, after_0014 = (
        loader.project_state(state) for state in (BEFORE[0], AFTER_0013, AFTER_0014)
    )
    add = AddForeignKeyOnline("livesession", "owner", _owner(null=True))
    required = SetNotNullOnline("livesession", "owner", _owner())
    with connection.schema_editor(atomic=False) as editor:
        add.database_forwards("liverooms", editor, before, after_0013)
        required.database_forwards("liverooms", editor, after_0013, after_0014)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE contype = 'f' AND convalidated),"
            " count(*) FILTER (WHERE contype = 'c')"
            " FROM pg_constraint WHERE conrelid = 'liverooms_livesession'::regclass"
            " AND conname LIKE %s",
            ["%owner_id%"],
        )
        assert cursor.fetchone() == (1, 0)
        cursor.execute(
            "SELECT attnotnull FROM pg_attribute"
            " WHERE attrelid = 'liverooms_livesession'::regclass AND attname = 'owner_id'"
        )
        assert cursor.fetchone() == (True,)
