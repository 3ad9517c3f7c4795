"""How the go-live gate talks to PostgreSQL: statements planned once per connection, and no
separate health check.

Planning the gate's read costs PostgreSQL four times what running it does (about 1.2 ms against
0.3 ms on the benchmark's machine), at a thousand decisions a second. So on PostgreSQL the gate's
statements go through a cursor that binds its parameters on the server and has psycopg prepare
each statement on its first use; the connection keeps their generic plans (`plan_cache_mode`, set
with the connection's options in config/settings/base.py). Their text must therefore not depend on
the number of ids: a list goes as one array parameter, and an id as an int8 whatever its size
(psycopg would otherwise type small numbers int2 and prepare the statement again).

Django's own queries bind on the client and are never prepared, so nothing else changes. With
`DB_PREPARED_STATEMENTS` off (behind a pooler that cannot keep prepared statements), psycopg runs
these unprepared. On other databases (SQLite in development and the tests) this is Django's
cursor.
"""

from contextlib import suppress

from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.db.backends.postgresql.base import ServerBindingCursor
from psycopg import Error
from psycopg.types.numeric import Int8


class PreparingCursor(ServerBindingCursor):
    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True, binary=binary)


class DirectCursor:
    """A preparing cursor with Django's error translation, the one service of Django's cursor
    wrapper these statements need in autocommit without instrumentation. Its layers of calls
    around each execute and fetch were 2 % of an allowed go-live decision's Python instructions
    (bench/README.md)."""

    __slots__ = ("cursor", "errors")

    def __init__(self, db, cursor: PreparingCursor):
        self.cursor = cursor
        self.errors = db.wrap_database_errors

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        # As Django's wrapper: an error while closing is of no use to anyone.
        with suppress(Error):
            self.cursor.close()

    def execute(self, sql: str, params: list) -> None:
        with self.errors:
            self.cursor.execute(sql, params)

    def fetchone(self):
        with self.errors:
            return self.cursor.fetchone()

    def fetchall(self) -> list[tuple]:
        with self.errors:
            return self.cursor.fetchall()


def cursor(db=None):
    """A preparing cursor with Django's error translation; Django's own cursor wrapper around
    it wherever something else needs to see or refuse the statements."""
    db = db or connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql" or db.queries_logged:
        # Query logging (DEBUG, the tests' CaptureQueriesContext) reads the statement back from
        # Django's client-side cursor, which runs the same text unprepared.
        return db.cursor()
    # What connection.cursor() does before it creates its own cursor.
    db.close_if_health_check_failed()
    db.ensure_connection()
    raw = PreparingCursor(db.connection)
    if db.execute_wrappers or db.in_atomic_block:
        # Instrumentation (connection.execute_wrapper) sees these statements, and a transaction
        # that must roll back refuses them, as with any other query.
        return db.make_cursor(raw)
    return DirectCursor(db, raw)


def read(sql: str, params: list) -> list[tuple]:
    """The rows of a request's first statement, a read, in place of Django's health check.

    With CONN_HEALTH_CHECKS Django sends a SELECT 1 before the first statement of each request,
    to find a persistent connection that died while idle (a restart, a failover, a timeout) and
    open a new one instead of failing the request. Here the read itself is that probe: if it
    fails and the connection turns out unusable, the read runs again on a new connection. That
    saves a round trip per decision, and a read is safe to repeat.
    """
    db = connections[DEFAULT_DB_ALIAS]
    if db.connection is not None and not db.in_atomic_block:
        db.health_check_done = True  # the read below stands in for it
    try:
        with cursor(db) as c:
            c.execute(sql, params)
            return c.fetchall()
    except (InterfaceError, OperationalError):
        if db.in_atomic_block or db.is_usable():
            raise
        db.close()
    with cursor(db) as c:
        c.execute(sql, params)
        return c.fetchall()


def params(values: list) -> list:
    """Parameters for a prepared statement: integers as int8, so that the statement is prepared
    once whatever the size of the ids."""
    return [Int8(v) if type(v) is int else v for v in values]


def ids(values: list[int]) -> str:
    """A list of ids as one parameter, `%s::bigint[]` in the statement. As text it costs psycopg
    a fraction of what adapting a list does, and its type is the same for any list."""
    return "{" + ",".join(map(str, values)) + "}"
