"""Publish rule pack 2 (``liverooms.monitoring.rulepack``, "Pack 2"): a new version of each rule
whose entry changed (``liverooms.monitoring.publishing``). 0003's versions say "rule pack"."""

from django.db import migrations

from liverooms.monitoring import publishing

# Who published the versions this migration makes: how the reverse knows them, and what the
# admin shows; and the packs before it, whose versions it may replace.
PUBLISHED_BY = "rule pack 2"
PACK_SOURCES = ("rule pack", PUBLISHED_BY)


def publish(apps, schema_editor):
    publishing.publish(apps, published_by=PUBLISHED_BY, sources=PACK_SOURCES)


def unpublish(apps, schema_editor):
    publishing.unpublish(apps, published_by=PUBLISHED_BY, sources=PACK_SOURCES)


class Migration(migrations.Migration):
    dependencies = [("liverooms", "0006_signal_batches")]

    operations = [migrations.RunPython(publish, unpublish)]
