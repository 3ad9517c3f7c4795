from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    default = True  # this module also holds the admin's config, installed by its dotted path
    name = "accounts"
    verbose_name = _("Accounts, parties and access")

    def ready(self) -> None:
        from accounts import roles

        # Roles are declared in code; every migrate brings the groups in line with the code.
        post_migrate.connect(roles.sync_after_migrate, dispatch_uid="accounts.sync_roles")


class ComplianceAdminConfig(admin_apps.AdminConfig):
    """Installs our admin site (two-factor, workbench index) as `django.contrib.admin.site`."""

    default = False
    default_site = "accounts.admin_site.ComplianceAdminSite"
