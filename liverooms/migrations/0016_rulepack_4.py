"""Publish rule pack 4 (``liverooms.monitoring.rulepack``, "Pack 4"): a new version of every rule,
its description and legal basis in Chinese (``liverooms.monitoring.publishing``)."""

from django.db import migrations

from liverooms.monitoring import publishing

# Who published the versions this migration makes: how the reverse knows them, and what the
# admin shows; and the packs before it, whose versions it may replace.
PUBLISHED_BY = "rule pack 4"
PACK_SOURCES = ("rule pack", "rule pack 2", "rule pack 3", PUBLISHED_BY)


def publish(apps, schema_editor):
    publishing.publish(apps, published_by=PUBLISHED_BY, sources=PACK_SOURCES)


def unpublish(apps, schema_editor):
    publishing.unpublish(apps, published_by=PUBLISHED_BY, sources=PACK_SOURCES)


class Migration(migrations.Migration):
    dependencies = [("liverooms", "0015_room_events")]

    operations = [migrations.RunPython(publish, unpublish)]
