"""A party barred from the air is not on it: the restriction's listener ends its sessions at
once, and a sweep every minute ends those the listener could not see."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Restriction, RestrictionKind, WebhookDelivery
from config.celery import app
from liverooms import services
from liverooms.models import LiveSession, SessionStatus
from tests.concurrency import attempt_while_held
from tests.factories import TEST_ACTOR

pytestmark = pytest.mark.django_db


def on_air(world) -> LiveSession:
    response = world.go_live()
    assert response.status_code == 201, response.content
    return LiveSession.objects.get(pk=response.json()["id"])


def barred_unseen(party, kind=RestrictionKind.LIVE, **fields) -> Restriction:
    """A restriction in force that no listener acted on, as when the listener looked for
    sessions before a go-live it raced had committed."""
    fields = {"starts_at": timezone.now(), **fields}
    return Restriction.objects.create(party=party, kind=kind, reason="直播中引导私下交易", **fields)


def terminations() -> list[dict]:
    return [d.payload for d in WebhookDelivery.objects.filter(topic="live.terminate")]


@pytest.fixture
def endpoint():
    account_services.webhook_endpoint_create(name="p", url="http://127.0.0.1:9/x", actor=TEST_ACTOR)


@pytest.mark.parametrize("who", ["anchor", "merchant"])
def test_the_sweep_ends_a_session_with_a_barred_party_and_tells_the_platform_once(
    world, endpoint, who
):
    session = on_air(world)
    party = getattr(world, who)
    restriction = barred_unseen(party)

    assert services.end_barred_sessions() == 1
    session.refresh_from_db()
    assert session.status == SessionStatus.ENDED
    assert session.ended_reason == f"restriction {restriction.pk}"
    [told] = terminations()
    assert told["session_id"] == session.pk and told["party_id"] == party.pk
    assert told["restriction"]["id"] == restriction.pk

    assert services.end_barred_sessions() == 0  # once
    assert len(terminations()) == 1


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": RestrictionKind.TRAFFIC},  # limits reach, not the air
        {"lifted_at": timezone.now()},
        {
            "starts_at": timezone.now() - timedelta(days=7),
            "ends_at": timezone.now() - timedelta(seconds=1),
        },
    ],
    ids=["not-barring", "lifted", "over"],
)
def test_a_restriction_that_does_not_bar_from_the_air_now_ends_nothing(world, endpoint, fields):
    session = on_air(world)
    barred_unseen(world.anchor, **fields)
    assert services.end_barred_sessions() == 0
    session.refresh_from_db()
    assert session.status == SessionStatus.LIVE
    assert terminations() == []


def test_a_restriction_set_to_start_later_ends_the_session_when_it_starts(
    world, endpoint, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    session = on_air(world)
    account_services.restriction_impose(
        party=world.anchor,
        kind=RestrictionKind.LIVE,
        reason="整改期满前暂停直播",
        starts_at=timezone.now() + timedelta(hours=1),
        actor=TEST_ACTOR,
    )
    assert services.end_barred_sessions() == 0
    session.refresh_from_db()
    assert session.status == SessionStatus.LIVE

    time_machine.shift(timedelta(hours=1))
    assert services.end_barred_sessions() == 1
    session.refresh_from_db()
    assert session.status == SessionStatus.ENDED
    assert len(terminations()) == 1


def test_the_sweep_runs_every_minute_on_the_default_queue():
    entry = app.conf.beat_schedule["end-barred-sessions"]
    assert entry["task"] == "liverooms.end_barred_sessions"
    assert entry["schedule"] == 60.0
    assert app.conf.task_routes["liverooms.end_barred_sessions"] == {"queue": "default"}
    from liverooms.tasks import end_barred_sessions

    assert end_barred_sessions.name == entry["task"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_go_live_that_raced_a_restriction_is_ended_by_the_sweep(world, endpoint):
    """The gate reads the anchor's restrictions before the restriction commits; the
    restriction's listener looks for her sessions before the go-live commits. Both succeed, and
    she is on air barred until the sweep."""
    answers = []
    attempt_while_held(
        lambda: account_services.restriction_impose(
            party=world.anchor,
            kind=RestrictionKind.LIVE,
            reason="直播中引导私下交易",
            actor=TEST_ACTOR,
        ),
        lambda: answers.append(world.go_live()),
    )
    [answer] = answers
    assert answer.status_code == 201, answer.content
    session = LiveSession.objects.get(pk=answer.json()["id"])
    assert session.status == SessionStatus.LIVE  # the race: on air, barred
    assert terminations() == []

    assert services.end_barred_sessions() == 1
    session.refresh_from_db()
    assert session.status == SessionStatus.ENDED
    assert [t["session_id"] for t in terminations()] == [session.pk]
