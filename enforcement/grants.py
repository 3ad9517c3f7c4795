"""What each role may do in enforcement. See accounts.roles.

Reviewers triage violations, gather evidence and propose measures (and carry out the light ones
at once); leads also approve the severe ones (never their own), decide appeals (never on a measure
they took part in), keep the catalogue and the deposit ledger, retry deliveries, and read the
notification outbox (what was e-mailed to them and to the parties). The authority
liaison reads referrals and nothing else.
"""

_REVIEW = [
    "enforcement.view_violationtype",
    "enforcement.view_violation",
    "enforcement.add_violation",
    "enforcement.change_violation",
    "enforcement.view_evidence",
    "enforcement.add_evidence",
    "enforcement.view_violationevent",
    "enforcement.view_measure",
    "enforcement.add_measure",
    "enforcement.view_measureevent",
    "enforcement.view_appeal",
    "enforcement.view_depositaccount",
    "enforcement.view_ledgerentry",
    "enforcement.view_depositrequirement",
    "enforcement.view_authority",
    "enforcement.view_referral",
]

GRANTS = {
    "compliance_reviewer": _REVIEW,
    "compliance_lead": [
        *_REVIEW,
        "enforcement.add_violationtype",
        "enforcement.change_violationtype",
        "enforcement.change_measure",
        "enforcement.approve_measure",
        "enforcement.execute_measure",
        "enforcement.export_sanctions",
        "enforcement.change_appeal",
        "enforcement.decide_appeal",
        "enforcement.record_deposit",
        "enforcement.add_depositrequirement",
        "enforcement.change_depositrequirement",
        "enforcement.view_reconciliation",
        "enforcement.view_notification",
        "enforcement.add_authority",
        "enforcement.change_authority",
        "enforcement.change_referral",
        "enforcement.retry_referral",
    ],
    "authority_liaison": [
        "enforcement.view_referral",
        "enforcement.view_authority",
    ],
}
