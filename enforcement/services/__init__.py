"""Every write of the enforcement app goes through these functions (re-exported by subject)."""

from enforcement.services.appeals import appeal_decide, appeal_file, refund_carry_out
from enforcement.services.catalogue import (
    type_create,
    type_new_version,
    type_publish,
    type_update,
)
from enforcement.services.ledger import pay_compensation, post_once, reconcile, top_up
from enforcement.services.measures import (
    Proposal,
    deduction_carry_out,
    escalate_overdue_notices,
    give_up_stuck_deductions,
    history,
    lift_expired,
    measure_approve,
    measure_execute,
    measure_fail,
    measure_mark_corrected,
    measure_propose,
    measure_reject,
)
from enforcement.services.referrals import acknowledge as referral_acknowledge
from enforcement.services.referrals import requeue as referral_requeue
from enforcement.services.violations import (
    evidence_add_file,
    evidence_link,
    violation_confirm,
    violation_dismiss,
    violation_raise,
)

__all__ = [
    "Proposal",
    "appeal_decide",
    "appeal_file",
    "deduction_carry_out",
    "escalate_overdue_notices",
    "evidence_add_file",
    "evidence_link",
    "give_up_stuck_deductions",
    "history",
    "lift_expired",
    "measure_approve",
    "measure_execute",
    "measure_fail",
    "measure_mark_corrected",
    "measure_propose",
    "measure_reject",
    "pay_compensation",
    "post_once",
    "reconcile",
    "referral_acknowledge",
    "referral_requeue",
    "refund_carry_out",
    "top_up",
    "type_create",
    "type_new_version",
    "type_publish",
    "type_update",
    "violation_confirm",
    "violation_dismiss",
    "violation_raise",
]
