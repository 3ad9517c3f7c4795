"""What each role may do with complaints, reports and evaluations. See accounts.roles."""

_HANDLE = [
    "complaints.view_case",
    # Accept, ask, decide, reply, merge: every state change goes through complaints.services.
    "complaints.change_case",
    "complaints.view_caseevent",
    "complaints.view_evidence",
    "complaints.view_replytemplate",
    "complaints.view_evaluation",
    "complaints.hide_evaluation",
    # Evaluations waiting for the platform: ask it again when its integration lost the question.
    "complaints.ask_order_check",
    "complaints.view_reviewercapacity",
    "accounts.view_party",
    "liverooms.view_livesession",
]

GRANTS = {
    "compliance_reviewer": _HANDLE,
    "compliance_lead": [
        *_HANDLE,
        # Leads run the team: templates, who takes cases, flagged reporters.
        "complaints.add_replytemplate",
        "complaints.change_replytemplate",
        "complaints.add_reviewercapacity",
        "complaints.change_reviewercapacity",
        "complaints.view_reporterreputation",
        "complaints.change_reporterreputation",
    ],
}
