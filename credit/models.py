"""Credit. For now: the external sanctions list that the entry checks consult.

AdL Art. 38 ¶3: a natural person, legal person or organisation administratively punished for
recommending or vouching in a false advertisement may not act as an endorser for 3 years; LCM
Art. 35 makes influential live recommenders endorsers. The list also carries the regulators'
abnormal-operation and serious-dishonesty entries (LCM Art. 11), which the credit rules use.
"""

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SanctionKind(models.TextChoices):
    FALSE_AD_ENDORSEMENT = "false_ad_endorsement", _("Punished for endorsing a false advertisement")
    ADMINISTRATIVE_PENALTY = "administrative_penalty", _("Administrative penalty")
    SERIOUS_DISHONESTY = "serious_dishonesty", _("Serious dishonesty list")
    ABNORMAL_OPERATION = "abnormal_operation", _("Abnormal operation list")


class SanctionEntry(models.Model):
    """One decision by an authority about an identity, found through its keyed hash.

    The ID number or credit code is never stored: imports hash it with the registry's key.
    """

    kind = models.CharField(_("kind"), max_length=32, choices=SanctionKind.choices)
    identity_hash = models.CharField(max_length=64, editable=False)
    name = models.CharField(_("name"), max_length=200)
    identifier_masked = models.CharField(_("identifier"), max_length=18, editable=False)
    authority = models.CharField(_("decided by"), max_length=200)
    reference = models.CharField(_("decision number"), max_length=100)
    decided_on = models.DateField(_("decided on"))
    # Empty when the list gives no end; the false-advertisement bar ends 3 years after decision.
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    imported_at = models.DateTimeField(_("imported at"), default=timezone.now, editable=False)
    imported_by = models.CharField(_("imported by"), max_length=150, editable=False)

    class Meta:
        verbose_name = _("sanctions-list entry")
        verbose_name_plural = _("sanctions list")
        ordering = ["-decided_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=SanctionKind.values), name="sanction_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("decided_on")),
                name="sanction_ends_after_decision",
            ),
            # Importing the same list twice adds nothing.
            models.UniqueConstraint(
                fields=["kind", "identity_hash", "reference"], name="sanction_entry_unique"
            ),
        ]
        indexes = [
            # The entry check: "any entry of this kind for this identity still running".
            models.Index(fields=["identity_hash", "kind"], name="sanction_identity_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name} ({self.reference})"
