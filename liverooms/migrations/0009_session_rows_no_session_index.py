"""The anchors' and products' rows of a session lose their index on `session` alone: the unique
constraints (session, anchor) and (session, product) serve every look-up by session, and each
go-live writes one index entry fewer per row.

Django would drop the foreign key, drop the index and add the key back, validating every row;
only the index goes here."""

import django.db.models.deletion
from django.db import migrations, models

# (model, its reverse accessor on LiveSession, the index Django made for its key to a session)
ROWS = [
    ("sessionanchor", "anchors", "liverooms_sessionanchor_session_id_7f1e8994"),
    ("sessionproduct", "products", "liverooms_sessionproduct_session_id_0cea5205"),
]


def session_key(related_name: str) -> models.ForeignKey:
    return models.ForeignKey(
        db_index=False,
        on_delete=django.db.models.deletion.CASCADE,
        related_name=related_name,
        to="liverooms.livesession",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("liverooms", "0008_session_ended_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(model_name=model, name="session", field=session_key(name))
                for model, name, _index in ROWS
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{index}"',
                    reverse_sql=(
                        f'CREATE INDEX IF NOT EXISTS "{index}" '
                        f'ON "liverooms_{model}" ("session_id")'
                    ),
                )
                for model, _name, index in ROWS
            ],
        ),
    ]
