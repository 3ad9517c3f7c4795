"""Migration operations for large tables that must stay in use while they change."""

from django.db import migrations


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
