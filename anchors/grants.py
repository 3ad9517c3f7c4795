"""What each role may do with anchor and agency files. See accounts.roles."""

_READ = [
    "anchors.view_anchorprofile",
    "anchors.view_guardianconsent",
    "anchors.view_qualification",
    "anchors.view_trainingrecord",
    "anchors.view_agencymembership",
    "anchors.view_agencymerchant",
]

GRANTS = {"compliance_reviewer": _READ, "compliance_lead": _READ}
