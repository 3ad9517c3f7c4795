"""What each role may do with live rooms, monitoring and patrol. See accounts.roles."""

_PATROL = [
    "liverooms.view_liveroom",
    # A room's timeline: registered, changed hands, category changed.
    "liverooms.view_roomevent",
    "liverooms.view_livesession",
    "liverooms.view_sessionanchor",
    "liverooms.view_sessionproduct",
    "liverooms.view_goliverefusal",
    "liverooms.view_monitoringrule",
    "liverooms.view_alert",
    # Confirm or dismiss alerts.
    "liverooms.change_alert",
    "liverooms.view_inspection",
    "liverooms.add_inspection",
    "merchants.view_product",
]

GRANTS = {
    "compliance_reviewer": _PATROL,
    "compliance_lead": [
        *_PATROL,
        # Monitoring rules are data: leads draft, try and publish them.
        "liverooms.add_monitoringrule",
        "liverooms.change_monitoringrule",
    ],
}
