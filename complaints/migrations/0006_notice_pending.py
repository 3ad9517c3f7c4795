"""Consumer notices owed and not yet delivered, marked on their event (complaints.services.notices).

Three migrations, because the events table is the largest of the complaints and stays in use:
this one adds the column with a database default (no table rewrite on PostgreSQL 11+, and
processes still running the code before it can go on inserting events); 0007 builds the index
concurrently; 0008 marks the notices already owed, in batches."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("complaints", "0005_mediation_end"),
    ]

    operations = [
        migrations.AddField(
            model_name="caseevent",
            name="notice_pending",
            field=models.BooleanField(default=False, db_default=False, editable=False),
        ),
    ]
