"""What each role may do with merchant files. See accounts.roles."""

_READ = ["merchants.view_merchantprofile", "merchants.view_licence"]

GRANTS = {"compliance_reviewer": _READ, "compliance_lead": _READ}
