"""Who may open what in the workbench, written down from the grants and the documented rules --
not read back from the views' own `has_*_permission` methods, so that a view that opens too
wide (or too narrow) disagrees with this table.

A principal holds:
- a role's permissions as its app's `grants.py` declares them (`accounts.roles.declared_grants`);
- the auditor, by its documented rule, every view_ permission of the product's apps and the admin
  log, and nothing else: it reads and never writes;
- the superuser everything, the staff member without a role nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.conf import settings

from accounts.roles import declared_grants

ANYONE_STAFF = "*staff*"  # any verified staff member, whatever their permissions
NOBODY = "*nobody*"  # refused to everyone, the superuser included


def holdings(principal: str) -> set[str] | None:
    """The permissions a verified staff principal holds; None means all (the superuser)."""
    if principal == "superuser":
        return None
    if principal == "staff_without_role":
        return set()
    if principal == "auditor":
        return {
            f"{model._meta.app_label}.view_{model._meta.model_name}"
            for model in apps.get_models()
            if model._meta.app_label in settings.PRODUCT_APPS
        } | {"admin.view_logentry"}
    return set(declared_grants()[principal])


@dataclass(frozen=True)
class Rule:
    """Who is let through, and what they get. `needs` is any one of these permissions (or one of
    the markers above); `ok` is the status those let through get on GET, `refused` the status of
    the others."""

    needs: tuple[str, ...]
    ok: tuple[int, ...] = (200,)
    refused: int = 403

    def allows(self, principal: str) -> bool:
        if self.needs == (NOBODY,):
            return False
        if self.needs == (ANYONE_STAFF,):
            return True
        held = holdings(principal)
        return held is None or any(perm in held for perm in self.needs)


def need(*perms: str, ok: tuple[int, ...] = (200,), refused: int = 403) -> Rule:
    return Rule(tuple(perms), ok, refused)


# --- the model pages -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Offers:
    """Which of Django's add / change / delete pages the workbench offers for a model, to those
    holding the model's permission. Records that change only through services (files, cases,
    measures, events) offer none: not even a superuser edits them by hand."""

    add: bool = False
    change: bool = False
    delete: bool = False


READ_ONLY = Offers()
FULL = Offers(add=True, change=True, delete=True)
NO_DELETE = Offers(add=True, change=True)

MODEL_PAGES: dict[str, Offers] = {
    # Django's and the libraries' own, left as they are: only the superuser holds their
    # permissions, no role is granted any.
    "auth.group": FULL,
    "accounts.user": FULL,
    "otp_totp.totpdevice": FULL,
    # Lockouts are looked at and cleared (deleted), never typed in; django-axes keeps Django's
    # change page (every field read-only).
    "axes.accessattempt": Offers(change=True, delete=True),
    "axes.accesslog": Offers(change=True, delete=True),
    "axes.accessfailurelog": Offers(change=True, delete=True),
    "admin.logentry": READ_ONLY,
    # The registry: parties, restrictions and files change through services and the decision
    # page only.
    "accounts.party": READ_ONLY,
    "accounts.restriction": READ_ONLY,
    "accounts.registrationfile": READ_ONLY,
    # Leads enter the State Council's holiday schedule; deleting a year is the superuser's.
    "accounts.calendaryear": FULL,
    # Keys are issued on a terminal (the raw key is shown once) and revoked by changing them.
    "accounts.apikey": Offers(change=True),
    # An endpoint's secret is shown once, on a terminal: no add page.
    "accounts.webhookendpoint": Offers(change=True, delete=True),
    # A failed delivery is re-queued (a change); deliveries are never added or deleted.
    "accounts.webhookdelivery": Offers(change=True),
    "merchants.licence": READ_ONLY,
    "anchors.trainingrecord": READ_ONLY,
    "anchors.agencymembership": READ_ONLY,
    # Credit: events, scores, shared records, jobs and disputes are outputs of services.
    "credit.creditevent": READ_ONLY,
    "credit.scorechange": READ_ONLY,
    "credit.creditscore": READ_ONLY,
    "credit.job": READ_ONLY,
    "credit.peerrecord": READ_ONLY,
    "credit.feedentry": READ_ONLY,
    "credit.dispute": READ_ONLY,
    "credit.sanctionentry": READ_ONLY,  # arrives through the CSV import
    "credit.ruleset": NO_DELETE,  # a published rule set is never deleted
    "credit.peer": NO_DELETE,
    "liverooms.liveroom": READ_ONLY,
    "liverooms.livesession": READ_ONLY,
    "liverooms.goliverefusal": READ_ONLY,
    "liverooms.alert": Offers(change=True),  # confirm or dismiss
    "liverooms.monitoringrule": NO_DELETE,
    "complaints.case": READ_ONLY,  # every change through the case's actions
    "complaints.evaluation": READ_ONLY,  # never changed (ECL Art. 39), only hidden
    "complaints.reporterreputation": READ_ONLY,
    "complaints.replytemplate": NO_DELETE,
    "complaints.reviewercapacity": NO_DELETE,
    "enforcement.violation": Offers(add=True),  # then only through its actions
    "enforcement.violationtype": NO_DELETE,
    "enforcement.measure": READ_ONLY,
    "enforcement.appeal": READ_ONLY,
    "enforcement.depositaccount": READ_ONLY,
    "enforcement.depositrequirement": NO_DELETE,
    "enforcement.reconciliation": READ_ONLY,
    "enforcement.notification": READ_ONLY,  # recorded by services, sent by the worker
    "enforcement.authority": NO_DELETE,
    "enforcement.referral": READ_ONLY,
}


def model_page_rule(label: str, page: str) -> Rule:
    """The rule of one of Django's standard pages of a model admin."""
    offers = MODEL_PAGES[label]
    app_label, model_name = label.split(".")
    view, change = f"{app_label}.view_{model_name}", f"{app_label}.change_{model_name}"
    if page in ("changelist", "change", "history"):
        # Django opens the list and the record to view_ or change_ holders alike.
        return need(view, change)
    if page == "add":
        return need(f"{app_label}.add_{model_name}") if offers.add else need(NOBODY)
    if page == "delete":
        return need(f"{app_label}.delete_{model_name}") if offers.delete else need(NOBODY)
    if page == "object":
        # `<id>/` only redirects to `<id>/change/`, which checks.
        return need(ANYONE_STAFF, ok=(302,))
    raise KeyError(page)


def change_post_allowed(label: str, principal: str) -> bool:
    app_label, model_name = label.split(".")
    held = holdings(principal)
    perm = f"{app_label}.change_{model_name}"
    return MODEL_PAGES[label].change and (held is None or perm in held)


# --- the workbench's own pages -------------------------------------------------------------------

# URL name -> rule. Pages that post (decisions, actions, imports) are marked in POSTS.
CUSTOM_PAGES: dict[str, Rule] = {
    "index": need(ANYONE_STAFF),
    "password_change": need(ANYONE_STAFF),
    "password_change_done": need(ANYONE_STAFF),
    "jsi18n": need(ANYONE_STAFF),
    # No record of the product has a public page: "view on site" finds nothing to go to.
    "view_on_site": need(NOBODY, refused=404),
    # An unknown admin URL is a 404 for staff, whatever their permissions.
    "catch_all": need(NOBODY, refused=404),
    # The registry
    "accounts_registrationfile_decide": need("accounts.review_registrationfile"),
    # PIPL Art. 28: a full ID number only with the permission, each reveal recorded.
    "accounts_registrationfile_reveal": need("accounts.reveal_identity"),
    "accounts_registrationfile_document": need("accounts.view_filedocument"),
    # LCM Art. 9: the half-year report to the regulator is the lead's.
    "accounts_registrationfile_identity_report": need("accounts.export_identity_report"),
    "auth_user_password_change": need("accounts.change_user"),
    "otp_totp_totpdevice_config": need("otp_totp.view_totpdevice", "otp_totp.change_totpdevice"),
    # 503 where the optional qrcode library is not installed (it is not a dependency).
    "otp_totp_totpdevice_qrcode": need(
        "otp_totp.view_totpdevice", "otp_totp.change_totpdevice", ok=(200, 503)
    ),
    # Live rooms: inspecting is a patrol's write; coverage and trying a rule are reads.
    "liverooms_livesession_inspect": need("liverooms.add_inspection"),
    "liverooms_livesession_coverage": need("liverooms.view_inspection"),
    "liverooms_monitoringrule_try": need("liverooms.view_monitoringrule"),
    # Confirming or dismissing one alert, as the change list's actions do; an alert decided
    # already is sent back to its page.
    "liverooms_alert_decide": need("liverooms.change_alert", ok=(200, 302)),
    # Complaints: only those who handle cases act on them; evidence is seen by its viewers.
    "complaints_case_evidence": need("complaints.view_evidence"),
    "complaints_evaluation_hide": need("complaints.hide_evaluation"),
    # Credit: the leads' work.
    # A rule set already published is sent back to its page.
    "credit_ruleset_publish": need("credit.publish_ruleset", ok=(200, 302)),
    "credit_sanctionentry_import": need("credit.add_sanctionentry"),
    # Recomputing is a POST from the score's page; a GET only goes back to that page.
    "credit_creditscore_recompute": need(ANYONE_STAFF, ok=(302,)),
    "credit_dispute_decide": need("credit.change_dispute", ok=(200, 302)),
    # Enforcement
    "enforcement_measure_export": need("enforcement.export_sanctions"),
    "enforcement_depositaccount_top_up": need("enforcement.record_deposit"),
    # The dossier sent to an authority: whoever reads referrals (the liaison among them).
    "enforcement_referral_dossier": need("enforcement.view_referral"),
    "enforcement_violation_evidence": need("enforcement.view_evidence"),
    # The compliance dashboard: the people who see cases.
    "dashboard:index": need("complaints.view_case"),
    "dashboard:figure": need("complaints.view_case"),
    "dashboard:export": need("complaints.view_case"),
    "dashboard:job": need("complaints.view_case"),
    "dashboard:job_download": need("complaints.view_case"),
}

# `<pk>/act/<slug>/`: (URL name, slug) -> rule. GET shows the action's form; an object the action
# does not apply to now is sent back to its page (302).
_ACT = (200, 302)
ACTIONS: dict[tuple[str, str], Rule] = {
    # Four eyes: approving or rejecting a severe measure is a lead's (never their own proposal;
    # the service checks that part).
    ("enforcement_measure_act", "approve"): need("enforcement.approve_measure", ok=_ACT),
    ("enforcement_measure_act", "reject"): need("enforcement.approve_measure", ok=_ACT),
    # Whoever may carry out a measure: a lead, or the reviewer whose light measures run at once.
    ("enforcement_measure_act", "retry"): need(
        "enforcement.execute_measure", "enforcement.add_measure", ok=_ACT
    ),
    ("enforcement_measure_act", "fail"): need("enforcement.execute_measure", ok=_ACT),
    ("enforcement_measure_act", "corrected"): need("enforcement.change_measure", ok=_ACT),
    # Reviewers triage violations and gather evidence, and propose measures.
    ("enforcement_violation_act", "confirm"): need("enforcement.change_violation", ok=_ACT),
    ("enforcement_violation_act", "dismiss"): need("enforcement.change_violation", ok=_ACT),
    ("enforcement_violation_act", "add_file"): need("enforcement.add_evidence", ok=_ACT),
    ("enforcement_violation_act", "link"): need("enforcement.add_evidence", ok=_ACT),
    ("enforcement_violation_act", "propose"): need("enforcement.add_measure", ok=_ACT),
    # Referrals: the liaison reads them and does nothing else.
    ("enforcement_referral_act", "requeue"): need("enforcement.retry_referral", ok=_ACT),
    ("enforcement_referral_act", "acknowledge"): need("enforcement.change_referral", ok=_ACT),
    ("enforcement_appeal_act", "decide"): need("enforcement.decide_appeal", ok=_ACT),
    ("enforcement_violationtype_act", "publish"): need("enforcement.change_violationtype", ok=_ACT),
    ("enforcement_violationtype_act", "new_version"): need(
        "enforcement.add_violationtype", ok=_ACT
    ),
    ("enforcement_depositaccount_act", "compensation"): need("enforcement.record_deposit", ok=_ACT),
}
# Every action on a case is for those who handle cases; the auditor reads the page only.
CASE_ACTION = need("complaints.change_case")
# Starting a credit job: each kind names its permission; both kinds are a lead's.
JOB_START = need("credit.add_job")

# Pages whose POST is held to another rule than their GET.
POST_RULES: dict[str, Rule] = {
    "credit_creditscore_recompute": need("credit.add_job"),
}

# Models with records that even a holder of the change permission may not change in their
# present state (published rule sets and catalogue versions, monitoring rules no longer drafts),
# or only through an action or a page of their own (alerts are decided, never edited): a POST to
# their page may be refused with 403 to anyone.
CHANGED_ONLY_AS_DRAFTS = {
    "credit.ruleset",
    "enforcement.violationtype",
    "liverooms.monitoringrule",
    "liverooms.alert",
}

# Pages whose POST does something; the others' POST is the same question as their GET.
POSTS = {
    "accounts_registrationfile_decide",
    "accounts_registrationfile_reveal",
    "accounts_registrationfile_identity_report",
    "auth_user_password_change",
    "liverooms_livesession_inspect",
    "liverooms_monitoringrule_try",
    "liverooms_alert_decide",
    "complaints_evaluation_hide",
    "credit_ruleset_publish",
    "credit_sanctionentry_import",
    "credit_creditscore_recompute",
    "credit_dispute_decide",
    "credit_job_start",
    "enforcement_measure_export",
    "enforcement_depositaccount_top_up",
    "complaints_case_action",
    "enforcement_measure_act",
    "enforcement_violation_act",
    "enforcement_referral_act",
    "enforcement_appeal_act",
    "enforcement_violationtype_act",
    "enforcement_depositaccount_act",
    "dashboard:export",
}
