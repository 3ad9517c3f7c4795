"""The anchors' and products' rows of a session lose their index on `session` alone: the unique
constraints (session, anchor) and (session, product) serve every look-up by session, and each
go-live writes one index entry fewer per row.

Django would drop the foreign key, drop the index and add the key back, validating every row;
only the index goes here."""

import django.db.models.deletion
from django.db import migrations, models

INDEXES = [
    ("liverooms_sessionanchor", "liverooms_sessionanchor_session_id_7f1e8994"),
    ("liverooms_sessionproduct", "liverooms_sessionproduct_session_id_0cea5205"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("liverooms", "0008_session_ended_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="sessionanchor",
                    name="session",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="anchors",
                        to="liverooms.livesession",
                    ),
                ),
                migrations.AlterField(
                    model_name="sessionproduct",
                    name="session",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="products",
                        to="liverooms.livesession",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{index}"',
                    reverse_sql=f'CREATE INDEX IF NOT EXISTS "{index}" ON "{table}" ("session_id")',
                )
                for table, index in INDEXES
            ],
        ),
    ]
