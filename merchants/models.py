"""Merchant registration files: the parts beyond the common file (accounts.RegistrationFile).

ECL Art. 27 and LCM Art. 8: name, credit code (or a natural person's ID number), business
address, contact details and administrative licences, verified and kept on file. LCM Art. 25:
an individual business also discloses its operator and form of organisation.
"""

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from accounts.models import FileDocument, RegistrationFile


class EntityType(models.TextChoices):
    ENTERPRISE = "enterprise", _("Enterprise")  # holds a unified social credit code
    INDIVIDUAL_BUSINESS = "individual_business", _("Individual business")  # 个体工商户, also a code
    NATURAL_PERSON = "natural_person", _("Unregistered natural person")  # ID number instead


class Category(models.TextChoices):
    """Business categories, with the licences each needs (REQUIRED_LICENCES)."""

    GENERAL = "general", _("General merchandise")
    APPAREL = "apparel", _("Apparel and accessories")
    FOOD = "food", _("Food")
    HEALTH_FOOD = "health_food", _("Health food")
    COSMETICS = "cosmetics", _("Cosmetics")
    MEDICAL_DEVICES = "medical_devices", _("Medical devices")
    DRUGS = "drugs", _("Drugs")
    INFANT_FORMULA = "infant_formula", _("Infant formula")
    ELECTRONICS = "electronics", _("Electronics")
    AGRICULTURE = "agriculture", _("Agricultural products")


class LicenceKind(models.TextChoices):
    BUSINESS = "business", _("Business licence")  # 营业执照
    FOOD_BUSINESS = "food_business", _("Food business licence")  # 食品经营许可证
    MEDICAL_DEVICE_BUSINESS = "medical_device_business", _("Medical device business licence")
    DRUG_BUSINESS = "drug_business", _("Drug business licence")  # 药品经营许可证
    OTHER = "other", _("Other administrative licence")


# The administrative licences a category needs before its goods may be sold (ECL Art. 12).
REQUIRED_LICENCES: dict[str, tuple[str, ...]] = {
    Category.FOOD: (LicenceKind.FOOD_BUSINESS,),
    Category.HEALTH_FOOD: (LicenceKind.FOOD_BUSINESS,),
    Category.INFANT_FORMULA: (LicenceKind.FOOD_BUSINESS,),
    Category.MEDICAL_DEVICES: (LicenceKind.MEDICAL_DEVICE_BUSINESS,),
    Category.DRUGS: (LicenceKind.DRUG_BUSINESS,),
}


class MerchantProfile(models.Model):
    file = models.OneToOneField(
        RegistrationFile, on_delete=models.CASCADE, related_name="merchant_profile"
    )
    entity_type = models.CharField(_("entity type"), max_length=24, choices=EntityType.choices)
    # Legal representative of an enterprise; the operator of an individual business (LCM Art. 25).
    representative = models.CharField(_("legal representative or operator"), max_length=100)
    organisation_form = models.CharField(
        _("form of organisation"),
        max_length=50,
        blank=True,
        help_text=_("For an individual business: run by one person or by a family."),
    )
    registered_address = models.CharField(_("registered address"), max_length=300, blank=True)
    # Empty for agencies; a merchant must name at least one (checks.categories_known).
    categories = models.JSONField(_("business categories"), default=list, blank=True)

    class Meta:
        verbose_name = _("merchant profile")
        verbose_name_plural = _("merchant profiles")
        constraints = [
            models.CheckConstraint(
                condition=Q(entity_type__in=EntityType.values), name="merchant_entity_type_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.file.name} ({self.get_entity_type_display()})"


class Licence(models.Model):
    file = models.ForeignKey(RegistrationFile, on_delete=models.CASCADE, related_name="licences")
    kind = models.CharField(_("kind"), max_length=32, choices=LicenceKind.choices)
    number = models.CharField(_("number"), max_length=64)
    issuer = models.CharField(_("issued by"), max_length=200)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    document = models.ForeignKey(
        FileDocument,
        verbose_name=_("scan"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("licence")
        verbose_name_plural = _("licences")
        ordering = ["kind", "valid_until"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=F("valid_from")),
                name="licence_valid_until_after_from",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"
