"""What each role may do with credit. See accounts.roles.

Reviewers read the sanctions list, the events, the scores and the rule sets; leads also import
the regulators' lists, draft and publish rule sets, run a full recompute, manage peer platforms
and decide disputes of shared records.
"""

_READ = [
    "credit.view_sanctionentry",
    "credit.view_ruleset",
    "credit.view_creditevent",
    "credit.view_creditscore",
    "credit.view_scorechange",
    "credit.view_feedentry",
    "credit.view_peer",
    "credit.view_peerrecord",
    "credit.view_dispute",
    "credit.view_job",
]

GRANTS = {
    "compliance_reviewer": _READ,
    "compliance_lead": [
        *_READ,
        "credit.add_sanctionentry",
        "credit.add_ruleset",
        "credit.change_ruleset",
        "credit.publish_ruleset",
        "credit.add_job",
        "credit.add_peer",
        "credit.change_peer",
        "credit.change_dispute",
    ],
}
