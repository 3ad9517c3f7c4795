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


class ListingStatus(models.TextChoices):
    LISTED = "listed", _("Listed")  # may be sold and shown live
    RESTRICTED = "restricted", _("Restricted")  # may not be shown live (standard measure 3)
    REMOVED = "removed", _("Removed")  # taken down (standard measure 2)


# Categories whose goods need a valid China Compulsory Certification to be sold (LCM Art. 27).
CCC_CATEGORIES = {Category.ELECTRONICS}
# Categories whose advertising needs pre-publication review before it is sold live (AdL Art. 46;
# SAMR 2020 guidance on live marketing): medical devices, drugs, health food, infant formula.
AD_REVIEW_CATEGORIES = {
    Category.MEDICAL_DEVICES,
    Category.DRUGS,
    Category.HEALTH_FOOD,
    Category.INFANT_FORMULA,
}


class Product(models.Model):
    """A merchant's product as the platform lists it, with its conformity documents."""

    merchant = models.ForeignKey(
        "accounts.Party",
        verbose_name=_("merchant"),
        on_delete=models.PROTECT,
        related_name="products",
    )
    platform_ref = models.CharField(_("platform reference"), max_length=64)
    title = models.CharField(_("title"), max_length=200)
    category = models.CharField(_("category"), max_length=32, choices=Category.choices)
    listing_status = models.CharField(
        _("listing status"),
        max_length=16,
        choices=ListingStatus.choices,
        default=ListingStatus.LISTED,
        editable=False,
    )
    ccc_certificate = models.CharField(_("CCC certificate number"), max_length=64, blank=True)
    ccc_valid_until = models.DateField(_("CCC valid until"), null=True, blank=True)
    ad_review_number = models.CharField(
        _("advertising review approval number"), max_length=64, blank=True
    )
    ad_review_valid_until = models.DateField(_("ad review valid until"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "platform_ref"], name="product_platform_ref_unique"
            ),
            models.CheckConstraint(
                condition=Q(listing_status__in=ListingStatus.values),
                name="product_listing_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(category__in=Category.values), name="product_category_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.title
