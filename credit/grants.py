"""What each role may do with the sanctions list. See accounts.roles."""

GRANTS = {
    "compliance_reviewer": ["credit.view_sanctionentry"],
    # Leads import the regulators' lists.
    "compliance_lead": ["credit.view_sanctionentry", "credit.add_sanctionentry"],
}
