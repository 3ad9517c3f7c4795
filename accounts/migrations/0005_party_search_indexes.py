"""Indexes for the admin's party search on PostgreSQL: `^name` is Django's istartswith and
`=platform_ref` its iexact, which PostgreSQL runs as UPPER(col::text) LIKE / = UPPER(term). A
plain index on the column serves neither, so at 1,000,000 parties each search read the whole
table. text_pattern_ops lets the LIKE prefix use the index whatever the database's collation.

Expression indexes with an operator class exist only on PostgreSQL; SQLite (tests, the demo)
scans its small tables instead, so this migration does nothing there.
"""

from django.db import migrations

INDEXES = {
    "party_name_upper_prefix_idx": 'UPPER(("name")::text) text_pattern_ops',
    "party_platform_ref_upper_idx": 'UPPER(("platform_ref")::text)',
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, expression in INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "accounts_party" ({expression})'
        )
    # An expression index has statistics of its own, gathered only by ANALYZE: until then the
    # planner guesses 5,000 matches for any prefix and reads the party table backwards by id.
    schema_editor.execute('ANALYZE "accounts_party"')


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_seed_calendar")]

    operations = [migrations.RunPython(create, drop)]
