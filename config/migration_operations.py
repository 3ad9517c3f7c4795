"""Migration operations for large tables that must stay in use while they change."""

from django.db import migrations, models


class AddIndexConcurrently(migrations.AddIndex):
    """An index built with CREATE INDEX CONCURRENTLY on PostgreSQL, so that the table takes
    reads and writes while it builds (a plain CREATE INDEX blocks writes for the whole build);
    a plain CREATE INDEX elsewhere. Only in a migration with `atomic = False`: PostgreSQL does
    not build concurrently inside a transaction."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.add_index(model, self.index, concurrently=True)
        else:
            schema_editor.add_index(model, self.index)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.remove_index(model, self.index, concurrently=True)
        else:
            schema_editor.remove_index(model, self.index)


# How long a schema change waits for its table's lock before it gives up. A statement waiting
# for an exclusive lock holds up every query queued behind it, the go-live gate's included: far
# better that `migrate` fails (it can be run again: the operations below are safe to repeat)
# than that the platform stalls behind a reviewer's long report.
LOCK_TIMEOUT = "5s"


def _execute_waiting_briefly(schema_editor, sql: str, params=None) -> None:
    schema_editor.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
    try:
        schema_editor.execute(sql, params)
    finally:
        schema_editor.execute("RESET lock_timeout")


def _constraint_exists(schema_editor, quoted_table: str, name: str) -> bool:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_constraint WHERE conrelid = %s::regclass AND conname = %s",
            [quoted_table, name],
        )
        return cursor.fetchone() is not None


class AddForeignKeyOnline(migrations.AddField):
    """A nullable foreign key added to a table in use. Django adds the column and its constraint
    in one ALTER TABLE, which checks every row while it holds the table exclusively: no reads, no
    writes. On PostgreSQL this adds the column alone (no default to write, so only the catalogue
    changes), then the constraint NOT VALID (it binds new rows at once, checks none of the old
    ones), then validates it, which reads the table under a lock that lets reads and writes go on.
    Elsewhere it is AddField. Only in a migration with `atomic = False`: in a transaction the first
    two statements' exclusive lock would last until the end of the migration."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        field = model._meta.get_field(self.name)
        if schema_editor.connection.vendor != "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        if not (field.null and field.db_constraint and field.db_default is models.NOT_PROVIDED):
            raise ValueError(f"{self.name}: AddForeignKeyOnline adds only a nullable, checked key")
        quote = schema_editor.quote_name
        table = model._meta.db_table
        column_type = field.db_parameters(connection=schema_editor.connection)["type"]
        _execute_waiting_briefly(
            schema_editor,
            f"ALTER TABLE {quote(table)} ADD COLUMN IF NOT EXISTS {quote(field.column)} "
            f"{column_type} NULL",
        )
        constraint = schema_editor._create_fk_sql(model, field, "_fk_%(to_table)s_%(to_column)s")
        name = str(constraint.parts["name"])
        if not _constraint_exists(schema_editor, quote(table), name.strip('"')):
            _execute_waiting_briefly(schema_editor, f"{constraint} NOT VALID")
        schema_editor.execute(f"ALTER TABLE {quote(table)} VALIDATE CONSTRAINT {name}")


class SetNotNullOnline(migrations.AlterField):
    """A column of a table in use made NOT NULL, and nothing else about it changed. Django's
    ALTER COLUMN SET NOT NULL reads the whole table for a NULL while it holds it exclusively. On
    PostgreSQL this first adds a CHECK (column IS NOT NULL) NOT VALID, validates it under a lock
    that lets reads and writes go on, and then sets NOT NULL, which the valid check proves without
    reading a row (PostgreSQL 12 and later); the check is then dropped. Elsewhere it is AlterField.
    Only in a migration with `atomic = False`, as AddForeignKeyOnline."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor != "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        old = from_state.apps.get_model(app_label, self.model_name)._meta.get_field(self.name)
        new = model._meta.get_field(self.name)
        if not (old.null and not new.null and _without_null(old) == _without_null(new)):
            raise ValueError(f"{self.name}: SetNotNullOnline changes only NULL to NOT NULL")
        quote = schema_editor.quote_name
        table = model._meta.db_table
        check = schema_editor._create_index_name(table, [new.column], suffix="_notnull")
        if not _constraint_exists(schema_editor, quote(table), check):
            _execute_waiting_briefly(
                schema_editor,
                f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(check)} "
                f"CHECK ({quote(new.column)} IS NOT NULL) NOT VALID",
            )
        schema_editor.execute(f"ALTER TABLE {quote(table)} VALIDATE CONSTRAINT {quote(check)}")
        _execute_waiting_briefly(
            schema_editor,
            f"ALTER TABLE {quote(table)} ALTER COLUMN {quote(new.column)} SET NOT NULL",
        )
        _execute_waiting_briefly(
            schema_editor, f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(check)}"
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        # DROP NOT NULL changes only the catalogue: the plain AlterField's way back.
        super().database_forwards(app_label, schema_editor, from_state, to_state)


def _without_null(field) -> tuple:
    _name, path, args, kwargs = field.deconstruct()
    kwargs.pop("null", None)
    return path, args, kwargs
