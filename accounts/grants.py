"""What each role may do with the registry, files, API keys, webhooks and the working-day
calendar. See accounts.roles."""

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

# Reviewers see the holiday calendar their deadlines are counted on.
_READ_CALENDAR = [
    "accounts.view_calendaryear",
    "accounts.view_calendarday",
]

GRANTS = {
    "compliance_reviewer": [*_REVIEW_FILES, *_READ_CALENDAR],
    "compliance_lead": [
        *_REVIEW_FILES,
        *_READ_CALENDAR,
        # Enter each year's State Council holiday schedule and correct its days. Deleting a
        # whole year (every deadline in it becomes an estimate) is left to the superuser.
        "accounts.add_calendaryear",
        "accounts.change_calendaryear",
        "accounts.add_calendarday",
        "accounts.change_calendarday",
        "accounts.delete_calendarday",
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
