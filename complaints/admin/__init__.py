"""The reviewers' workbench for complaints, reports and evaluations (RULES.md §4).

Queues on the index (new, mine, due today, overdue, waiting for the consumer, flagged reporters);
a change list by due date; a case page that shows the facts, the evidence and the whole timeline
read-only, with one small form per action. Every form calls `complaints.services`, which checks
the status and the permission again: nothing here edits a case field by hand, and a refusal from
a service is shown as an error with nothing changed.

Evaluations are never edited or deleted here, not even by a superuser (ECL Art. 39): a reviewer
may only hide one, with the reason recorded.
"""

# Importing the modules registers their admin classes and queues.
from complaints.admin import case_actions, cases, evaluations, team  # noqa: F401
