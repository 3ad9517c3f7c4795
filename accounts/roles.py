"""Roles are Django groups whose permissions are declared in code.

Each app lists what each role may do in its own `grants.py` (a `GRANTS` mapping of role to
"app_label.codename" strings), so an app that is added later extends the roles without this
module importing it. `sync_roles()` makes the groups match the declarations exactly -- it adds
and removes -- and runs after every `migrate`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import import_module

from django.apps import apps as global_apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Role:
    slug: str
    label: str
    # Staff roles use the admin (and so must pass two-factor); the others act through the public
    # site or the platform's API.
    is_staff: bool


CONSUMER = Role("consumer", _("Consumer"), is_staff=False)
MERCHANT_STAFF = Role("merchant_staff", _("Merchant staff"), is_staff=False)
ANCHOR = Role("anchor", _("Anchor"), is_staff=False)
AGENCY_STAFF = Role("agency_staff", _("Agency staff"), is_staff=False)
COMPLIANCE_REVIEWER = Role("compliance_reviewer", _("Compliance reviewer"), is_staff=True)
COMPLIANCE_LEAD = Role("compliance_lead", _("Compliance lead"), is_staff=True)
AUDITOR = Role("auditor", _("Auditor (read-only)"), is_staff=True)
AUTHORITY_LIAISON = Role("authority_liaison", _("Authority liaison"), is_staff=True)

ROLES: dict[str, Role] = {
    role.slug: role
    for role in (
        CONSUMER,
        MERCHANT_STAFF,
        ANCHOR,
        AGENCY_STAFF,
        COMPLIANCE_REVIEWER,
        COMPLIANCE_LEAD,
        AUDITOR,
        AUTHORITY_LIAISON,
    )
}

# The auditor reads everything the product records and changes nothing: every view_ permission
# of the product's apps plus the admin log. Computed, so a new model is covered without a grant.
AUDITOR_READS_APPS = (
    "accounts",
    "merchants",
    "anchors",
    "credit",
    "liverooms",
    "complaints",
    "enforcement",
)
AUDITOR_EXTRA = ("admin.view_logentry",)


def declared_grants(apps=global_apps) -> dict[str, set[str]]:
    """Role slug -> the set of "app_label.codename" every app's grants.py declares for it."""
    grants: dict[str, set[str]] = {slug: set() for slug in ROLES}
    for app_config in apps.get_app_configs():
        try:
            module = import_module(f"{app_config.name}.grants")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app_config.name}.grants":
                raise
            continue
        for slug, perms in module.GRANTS.items():
            if slug not in ROLES:
                raise ImproperlyConfigured(f"{app_config.name}.grants names unknown role {slug!r}.")
            grants[slug].update(perms)
    return grants


def sync_roles(apps=global_apps) -> None:
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    grants = declared_grants()
    auditor = Q(content_type__app_label__in=settings.PRODUCT_APPS, codename__startswith="view_")
    for name in AUDITOR_EXTRA:
        app_label, codename = name.split(".")
        auditor |= Q(content_type__app_label=app_label, codename=codename)

    for slug in ROLES:
        group, _created = Group.objects.get_or_create(name=slug)
        query = Q(pk__in=[])
        for name in grants[slug]:
            app_label, codename = name.split(".")
            query |= Q(content_type__app_label=app_label, codename=codename)
        if slug == AUDITOR.slug:
            query |= auditor
        permissions = list(Permission.objects.filter(query))
        found = {f"{p.content_type.app_label}.{p.codename}" for p in permissions}
        missing = grants[slug] - found
        if missing:
            raise ImproperlyConfigured(
                f"Role {slug} is granted permissions that do not exist: {sorted(missing)}"
            )
        group.permissions.set(permissions)


def sync_after_migrate(sender, apps=global_apps, **kwargs) -> None:
    # post_migrate fires once per app; permissions of every app exist only after the last one.
    with_models = [c for c in global_apps.get_app_configs() if c.models_module is not None]
    if sender.label != with_models[-1].label:
        return
    sync_roles()
