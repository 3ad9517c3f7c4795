"""What an integrator's API key may be allowed to do. Each API view declares the scopes it needs;
later capabilities add theirs here, so that this list is the whole vocabulary of the API."""

from django.utils.translation import gettext_lazy as _

SCOPES = {
    "parties:read": _("Read the party registry and restrictions"),
    "webhooks:manage": _("Send test events to the platform's webhook endpoints"),
    "registration:read": _("Read registration files of merchants, anchors and agencies"),
    "registration:write": _("Create, change and submit registration files and their documents"),
    "products:read": _("Read merchants' products"),
    "products:write": _("Register merchants' products and their conformity documents"),
    "live:read": _("Read live rooms, sessions and monitoring alerts"),
    "live:write": _("Register live rooms, ask to go live, end sessions, send monitoring signals"),
    "complaints:read": _("Read complaints and reports, their deadlines and public timelines"),
    "complaints:write": _(
        "Forward consumers' complaints and reports, their evidence, added information and "
        "withdrawals"
    ),
    "evaluations:read": _("Read consumers' evaluations of merchants and anchors"),
    "evaluations:write": _("Forward consumers' evaluations of merchants and anchors"),
    "enforcement:read": _(
        "Read violations with their evidence, measures taken against parties and their "
        "statements of reasons"
    ),
    "appeals:read": _("Read appeals against measures and how they were decided"),
    "appeals:write": _("File a party's appeal against a measure taken against it"),
    "deposits:read": _("Read parties' deposit balances, the deposit required and ledger entries"),
    "deposits:write": _("Record deposit top-ups from the platform's payment system"),
    # For the other platforms of the credit consortium, not for our own platform's systems.
    "credit:feed": _(
        "Read the signed feed of shared credit records (another platform of the consortium)"
    ),
}
