"""The enforcement workbench (RULES.md §5): the catalogue of violation types, the triage of
violations with their evidence, measures with the four-eyes approval, appeals, the deposit
ledger, authorities, the referral outbox and the notification outbox.

Every page is read-only; every change is an action with its own small form that calls
`enforcement.services` with the acting user, which checks the permission and the status again.
Measures, appeals, ledger entries, referrals and timelines are never added, edited or deleted
here -- not even by a superuser.
"""

# Importing the modules registers their admin classes and queues.
from enforcement.admin import (  # noqa: F401
    appeals,
    catalogue,
    ledger,
    measures,
    notifications,
    referrals,
    violations,
)
