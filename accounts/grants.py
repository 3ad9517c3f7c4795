"""What each role may do with the registry, API keys and webhooks. See accounts.roles."""

GRANTS = {
    "compliance_reviewer": [
        "accounts.view_party",
        "accounts.view_partyevent",
        "accounts.view_restriction",
    ],
    "compliance_lead": [
        "accounts.view_party",
        "accounts.view_partyevent",
        "accounts.view_restriction",
        "accounts.view_webhookendpoint",
        "accounts.view_webhookdelivery",
        # Re-queue a failed delivery once the platform's endpoint is back.
        "accounts.change_webhookdelivery",
    ],
}
