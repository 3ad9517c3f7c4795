"""Everything that changes a complaint, report or evaluation.

Each case runs three clocks in Chinese working days (RULES.md §4), stored as dates:
- acceptance: decided within 7 working days of receipt (SAMR complaint rules Art. 15);
- resolution: the platform's published target, `COMPLAINT_RESOLUTION_WORKING_DAYS` (default 10,
  the 12315 ODR model's settlement limit; LCM Art. 20 leaves the figure to the platform);
- mediation: ends without agreement 45 working days after acceptance (SAMR complaint rules
  Art. 21(5); appraisal time not counted, Art. 20): the mediation sweep then decides the case
  as referred to 12315 and tells the consumer and the platform (services.mediation).
The clocks stop while the case waits for the consumer or for an appraisal: when handling
resumes, every running due date moves on by the working days spent waiting.

Every change writes a `CaseEvent`; a change of status also e-mails the consumer (the worker, after
commit) and tells the platform (`complaint.status_changed`).

The services are split by subject (filing, handling, assignment, deadlines, mediation,
undelivered notices, evaluations, contacts and tracking, counts) and re-exported here: callers write
`from complaints import services` and `services.case_file(...)`, whichever module holds it.
"""

from complaints.services.assignment import case_assign, case_assign_round_robin, open_load
from complaints.services.base import (
    ACCEPTANCE_WORKING_DAYS,
    DUPLICATE_WINDOW,
    MAX_EVIDENCE,
    MAX_FORWARD_AGE,
    MEDIATION_WORKING_DAYS,
    UNFOUNDED_FLAG_MIN,
    UNFOUNDED_FLAG_SHARE,
    resolution_working_days,
)
from complaints.services.contacts import (
    case_for_tracking,
    contact_email,
    contact_key,
    contact_masked,
    contact_phone,
    normalise_email,
    normalise_phone,
    tracking_token,
)
from complaints.services.counts import complainant_counts, complaint_counts
from complaints.services.deadlines import (
    RELAY_GRACE,
    RELAY_MAX_AGE,
    close_unconfirmed,
    due_today_cases,
    escalate_overdue,
    overdue_cases,
    overdue_clock,
    refresh_deadlines,
    unsent_notices,
)
from complaints.services.evaluations import (
    ask_unasked_orders,
    evaluation_hide,
    evaluation_order_ask,
    evaluation_order_checked,
    evaluation_submit,
    evaluation_summary,
    order_check_taken,
)
from complaints.services.filing import CaseInput, Filed, case_add_evidence, case_file
from complaints.services.handling import (
    apply_decision,
    case_accept,
    case_confirm,
    case_consumer_add_info,
    case_decide,
    case_link,
    case_merge,
    case_not_accept,
    case_note,
    case_rate,
    case_record_withdrawal,
    case_reply,
    case_request_info,
    case_resume,
    case_start_appraisal,
    case_withdraw,
    on_case_decided,
    reputation_review,
)
from complaints.services.mediation import end_expired_mediations, mediation_expired_cases
from complaints.services.notices import (
    NOTICE_FOLLOW_UP_AFTER,
    notice_send_again,
    notice_told_otherwise,
    undelivered_notice_cases,
    undelivered_notices,
)

__all__ = [
    "ACCEPTANCE_WORKING_DAYS",
    "DUPLICATE_WINDOW",
    "MAX_EVIDENCE",
    "MAX_FORWARD_AGE",
    "MEDIATION_WORKING_DAYS",
    "NOTICE_FOLLOW_UP_AFTER",
    "RELAY_GRACE",
    "RELAY_MAX_AGE",
    "UNFOUNDED_FLAG_MIN",
    "UNFOUNDED_FLAG_SHARE",
    "CaseInput",
    "Filed",
    "apply_decision",
    "ask_unasked_orders",
    "case_accept",
    "case_add_evidence",
    "case_assign",
    "case_assign_round_robin",
    "case_confirm",
    "case_consumer_add_info",
    "case_decide",
    "case_file",
    "case_for_tracking",
    "case_link",
    "case_merge",
    "case_not_accept",
    "case_note",
    "case_rate",
    "case_record_withdrawal",
    "case_reply",
    "case_request_info",
    "case_resume",
    "case_start_appraisal",
    "case_withdraw",
    "close_unconfirmed",
    "complainant_counts",
    "complaint_counts",
    "contact_email",
    "contact_key",
    "contact_masked",
    "contact_phone",
    "due_today_cases",
    "end_expired_mediations",
    "escalate_overdue",
    "evaluation_hide",
    "evaluation_order_ask",
    "evaluation_order_checked",
    "evaluation_submit",
    "evaluation_summary",
    "mediation_expired_cases",
    "normalise_email",
    "normalise_phone",
    "notice_send_again",
    "notice_told_otherwise",
    "on_case_decided",
    "open_load",
    "order_check_taken",
    "overdue_cases",
    "overdue_clock",
    "refresh_deadlines",
    "reputation_review",
    "resolution_working_days",
    "tracking_token",
    "undelivered_notice_cases",
    "undelivered_notices",
    "unsent_notices",
]
