"""The credit workbench (RULES.md §6): the published rule sets and their drafts, the events and
the scores with their explanations, long jobs with their progress, the sanctions list, and the
cross-platform sharing -- peers, records, disputes.

Permissions follow `credit.grants`: reviewers read everything; leads draft and publish rule sets,
start recomputes, import lists, manage peers and decide disputes. Every write calls a service in
`credit`, which checks the permission again; events, scores and shared records are never edited
here, not even by a superuser.
"""

# Importing the modules registers their admin classes and queues.
from credit.admin import events, jobs, rulesets, sanctions, scores, sharing  # noqa: F401
