"""Publish rule pack 3 (``liverooms.monitoring.rulepack``, "Pack 3"): a new version of each rule
whose entry changed, and the rule new in it (``liverooms.monitoring.publishing``)."""

from django.db import migrations

from liverooms.monitoring import publishing

# Who published the versions this migration makes: how the reverse knows them, and what the
# admin shows; and the packs before it, whose versions it may replace.
PUBLISHED_BY = "rule pack 3"
PACK_SOURCES = ("rule pack", "rule pack 2", PUBLISHED_BY)


def publish(apps, schema_editor):
    publishing.publish(apps, published_by=PUBLISHED_BY, sources=PACK_SOURCES)


def unpublish(apps, schema_editor):
    publishing.unpublish(apps, published_by=PUBLISHED_BY, sources=PACK_SOURCES)


class Migration(migrations.Migration):
    dependencies = [("liverooms", "0009_session_rows_no_session_index")]

    operations = [migrations.RunPython(publish, unpublish)]
