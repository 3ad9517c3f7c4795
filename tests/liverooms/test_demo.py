"""A fresh demo shows live rooms at work: sessions on air with signals and alerts, a high-risk
one not yet inspected, in the API, the patrol queue and the coverage page (issue 4, item 6)."""

import io

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from liverooms.models import AlertStatus, LiveSession, RiskGrade
from tests.accounts.test_roles import verified_client
from tests.factories import TEST_ACTOR, UserFactory

pytestmark = pytest.mark.django_db


def test_the_demo_puts_sessions_on_air_with_alerts_and_one_high_risk_room_to_inspect(
    settings, tmp_path, client
):
    from accounts.services import api_key_create

    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo", stdout=io.StringIO())

    _key, raw = api_key_create(name="demo reader", scopes=["live:read"], actor=TEST_ACTOR)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    live = api.get("/api/v1/live-sessions/", {"status": "live"}).json()["results"]
    assert len(live) >= 2
    alerts = api.get("/api/v1/alerts/").json()["results"]
    assert {a["status"] for a in alerts} == {AlertStatus.OPEN, AlertStatus.CONFIRMED}

    reviewer = verified_client(client, UserFactory(roles=["compliance_reviewer"]))
    queue = reviewer.get("/admin/liverooms/livesession/", {"status__exact": "live"})
    rows = list(queue.context["cl"].result_list)
    assert rows[0].room.platform_ref == "r-0002"
    assert rows[0].room.risk_grade == RiskGrade.HIGH
    coverage = reviewer.get("/admin/liverooms/livesession/coverage/").context["rows"]
    assert [(row["session"].room.platform_ref, row["overdue"]) for row in coverage] == [
        ("r-0002", True)
    ]
    assert LiveSession.objects.filter(status="live").count() == len(live)

    # A room that changed hands: its past session stays with the merchant who ran it.
    from liverooms.models import LiveRoom

    moved = LiveRoom.objects.get(platform_ref="r-0009")
    [past] = moved.sessions.all()
    assert (moved.owner.platform_ref, past.owner.platform_ref, past.status) == (
        "m-0101",
        "m-0002",
        "ended",
    )
    assert list(moved.events.values_list("kind", flat=True)) == ["registered", "changed_hands"]
    page = reviewer.get(f"/admin/liverooms/liveroom/{moved.pk}/change/")
    assert page.status_code == 200 and moved.owner.name in page.content.decode()
