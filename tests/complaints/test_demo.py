"""The demo complaints: varied states through the real services, and a second run adds nothing."""

import io

from django.core.management import call_command

from complaints.models import (
    Case,
    CaseEvent,
    CaseKind,
    Evaluation,
    Notification,
    ReplyTemplate,
    ReviewerCapacity,
)
from liverooms.models import LiveSession, SessionStatus


def counts() -> dict:
    return {
        model.__name__: model.objects.count()
        for model in (Case, CaseEvent, Evaluation, Notification, ReplyTemplate, ReviewerCapacity)
    }


def test_the_demo_has_cases_in_every_stage_and_runs_twice(db, settings, tmp_path, mailoutbox):
    settings.MEDIA_ROOT = tmp_path
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    first = counts()

    statuses = set(Case.objects.values_list("status", flat=True))
    assert {"new", "accepted", "awaiting_consumer", "decided", "closed"} <= statuses
    assert Case.objects.filter(outcome="refund", refund_fen__gt=0).exists()
    assert Case.objects.filter(possible_duplicate_of__isnull=False).count() == 1
    escalated = Case.objects.get(escalated_at__isnull=False)
    assert escalated.events.filter(kind=CaseEvent.Kind.ESCALATED).count() == 1
    if LiveSession.objects.filter(room__platform_ref="r-0002", status=SessionStatus.LIVE):
        report = Case.objects.get(kind=CaseKind.REPORT)
        assert report.session.room.platform_ref == "r-0002"
    # The round robin shared the cases between the two demo reviewers.
    assert set(Case.objects.values_list("assignee__username", flat=True)) == {
        "reviewer1",
        "reviewer2",
    }
    hidden = Evaluation.objects.get(hidden_at__isnull=False)
    assert hidden.hidden_reason and hidden.hidden_by.username == "reviewer1"
    # Every state of an evaluation's order check is there to see.
    assert set(Evaluation.objects.values_list("order_check", flat=True)) == {
        "forwarded",
        "confirmed",
        "pending",
        "not_found",
    }
    assert ReplyTemplate.objects.filter(body_zh__gt="", body_en__gt="").count() == 3

    # Every tracking link is printed, and no e-mail went to the made-up addresses.
    text = out.getvalue()
    for code in Case.objects.values_list("tracking_code", flat=True):
        assert f"/track/{code}/" in text
    assert mailoutbox == []

    call_command("seed_demo", stdout=io.StringIO())
    assert counts() == first
