"""On PostgreSQL the database itself refuses UPDATE and DELETE of ledger entries, so that no code
path -- a bulk update, a raw query, a careless shell -- can rewrite the money's history. (The model
refuses too; SQLite, the development default, has only that.)"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION enforcement_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_entry_append_only
    BEFORE UPDATE OR DELETE ON enforcement_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION enforcement_ledger_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS ledger_entry_append_only ON enforcement_ledgerentry;
DROP FUNCTION IF EXISTS enforcement_ledger_append_only();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("enforcement", "0002_seed_catalogue")]

    operations = [migrations.RunPython(create, drop)]
