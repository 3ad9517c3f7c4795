"""The enforcement workbench in the admin (being built: registrations only for now)."""

from django.contrib import admin

from enforcement.models import Appeal, Measure, Reconciliation

for model in (Measure, Appeal, Reconciliation):
    admin.site.register(model)
