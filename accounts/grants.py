"""What each role may do with the registry, files, API keys and webhooks. See accounts.roles."""

_REVIEW_FILES = [
    "accounts.view_party",
    "accounts.view_partyevent",
    "accounts.view_restriction",
    "accounts.view_registrationfile",
    "accounts.view_filedocument",
    "accounts.view_fileevent",
    "accounts.view_fileversion",
    "accounts.review_registrationfile",
]

GRANTS = {
    "compliance_reviewer": _REVIEW_FILES,
    "compliance_lead": [
        *_REVIEW_FILES,
        # Full ID numbers, each reveal on the file's timeline (PIPL Art. 28).
        "accounts.reveal_identity",
        # LCM Art. 9: the January/July report to the provincial regulator.
        "accounts.export_identity_report",
        "accounts.view_webhookendpoint",
        "accounts.view_webhookdelivery",
        # Re-queue a failed delivery once the platform's endpoint is back.
        "accounts.change_webhookdelivery",
    ],
}
