"""Order numbers stored before dashes were folded (complaints.services.contacts.fold_width) get
the ASCII hyphen-minus, so that 'ORD‐1' stored yesterday and 'ORD-1' typed today are one order for
the once-per-order rule and the duplicate checks. Evaluations waiting for the platform that an
endpoint was already asked about get `order_asked_at` from that delivery; the others were never
asked, and the periodic ask sends their question."""

import unicodedata

from django.db import migrations

# The fold as it is written here, not imported: a migration keeps doing what it did.
DASHES = {
    code: "-"
    for code in range(0x80, 0x10000)
    if unicodedata.category(chr(code)) == "Pd" or code == 0x2212
}
NOT_ASCII = r"[^ -~]"


def fold_dashes(apps, schema_editor):
    for name in ("Evaluation", "Case"):
        model = apps.get_model("complaints", name)
        rows = model.objects.filter(order_number__regex=NOT_ASCII).values_list("pk", "order_number")
        for pk, number in rows.iterator(chunk_size=2000):
            folded = number.translate(DASHES)
            if folded != number:
                model.objects.filter(pk=pk).update(order_number=folded)


def asked_orders(apps, schema_editor):
    Evaluation = apps.get_model("complaints", "Evaluation")
    WebhookDelivery = apps.get_model("accounts", "WebhookDelivery")
    waiting = set(
        Evaluation.objects.filter(order_check="pending", order_asked_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    if not waiting:
        return
    first: dict[int, object] = {}
    deliveries = WebhookDelivery.objects.filter(topic="evaluation.order_check").values_list(
        "payload__evaluation_id", "created_at"
    )
    for pk, at in deliveries.iterator(chunk_size=2000):
        if pk in waiting and (pk not in first or at < first[pk]):
            first[pk] = at
    for pk, at in first.items():
        Evaluation.objects.filter(pk=pk).update(order_asked_at=at)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_party_platform_ref_index"),
        ("complaints", "0011_evaluation_order_asked_at"),
    ]

    operations = [
        migrations.RunPython(fold_dashes, migrations.RunPython.noop),
        migrations.RunPython(asked_orders, migrations.RunPython.noop),
    ]
