"""A change to a party's record regrades, at once, every room that record weighs in."""

import pytest

from accounts.models import RestrictionKind
from accounts.services import restriction_impose, restriction_lift
from liverooms import services
from liverooms.models import LiveSession
from tests.factories import TEST_ACTOR

pytestmark = pytest.mark.django_db


def factors(room) -> dict[str, int]:
    room.refresh_from_db()
    return {r["factor"]: r["points"] for r in room.risk_reasons}


def test_a_restriction_on_an_anchor_regrades_the_rooms_she_streamed_in(world):
    response = world.go_live()  # world.anchor, on air in world.room, owned by world.merchant
    assert response.status_code == 201, response.content
    session = LiveSession.objects.get(pk=response.json()["id"])
    services.session_end(session=session, reason="下播", actor=TEST_ACTOR)
    assert "anchors_record" not in factors(world.room)
    restriction_impose(
        party=world.anchor, kind=RestrictionKind.TRAFFIC, reason="限流", actor=TEST_ACTOR
    )
    # No regrade asked for: the imposition did it.
    assert factors(world.room)["anchors_record"] == 5


def test_a_reversal_on_appeal_regrades_the_owner_s_rooms_at_once(world):
    wrong = restriction_impose(
        party=world.merchant, kind=RestrictionKind.TRAFFIC, reason="限流", actor=TEST_ACTOR
    )
    assert factors(world.room)["compliance_record"] == 10
    restriction_lift(
        restriction=wrong, reason="申诉撤销", actor=TEST_ACTOR, reversed_on_appeal=True
    )
    assert "compliance_record" not in factors(world.room)


def test_a_lift_that_is_no_reversal_leaves_the_grade_as_it_was(world):
    ended = restriction_impose(
        party=world.merchant, kind=RestrictionKind.TRAFFIC, reason="限流", actor=TEST_ACTOR
    )
    before = factors(world.room)
    restriction_lift(restriction=ended, reason="已整改，提前解除", actor=TEST_ACTOR)
    assert factors(world.room) == before
