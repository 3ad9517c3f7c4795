"""Patrol inspects sessions on air: an ended session takes no inspection."""

import pytest
from django.core.exceptions import ValidationError

from accounts.actors import Actor
from liverooms import services
from liverooms.models import Inspection, LiveSession
from tests.accounts.test_roles import verified_client
from tests.factories import TEST_ACTOR, UserFactory

pytestmark = pytest.mark.django_db


def ended_session(world) -> LiveSession:
    response = world.go_live()
    assert response.status_code == 201, response.content
    session = LiveSession.objects.get(pk=response.json()["id"])
    return services.session_end(session=session, reason="下播", actor=TEST_ACTOR)


def test_an_ended_session_takes_no_inspection(world):
    session = ended_session(world)
    actor = Actor.for_user(UserFactory(roles=["compliance_reviewer"]))
    with pytest.raises(ValidationError, match="本场直播已结束"):
        services.inspection_record(
            session=session,
            checklist={"identity_checked": True},
            findings="主播口播“全网最低价”",
            result="correction_requested",
            actor=actor,
        )
    assert not Inspection.objects.exists()


def test_the_inspect_page_says_so_and_stores_nothing(world, client):
    session = ended_session(world)
    reviewer = verified_client(client, UserFactory(roles=["compliance_reviewer"]))
    response = reviewer.post(
        f"/admin/liverooms/livesession/{session.pk}/inspect/",
        {"result": "no_issue", "identity_checked": "on"},
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "本场直播已结束：巡查针对正在直播的场次。"
    ]
    assert not Inspection.objects.exists()


def test_opening_the_inspect_page_of_an_ended_session_leads_to_the_session(world, client):
    session = ended_session(world)
    reviewer = verified_client(client, UserFactory(roles=["compliance_reviewer"]))
    response = reviewer.get(f"/admin/liverooms/livesession/{session.pk}/inspect/", follow=True)
    assert response.redirect_chain == [(f"/admin/liverooms/livesession/{session.pk}/change/", 302)]
    shown = [str(m) for m in response.context["messages"]]
    assert shown == ["本场直播已结束：巡查针对正在直播的场次。"]


def test_the_inspect_page_of_a_session_on_air_shows_the_form(world, client):
    response = world.go_live()
    reviewer = verified_client(client, UserFactory(roles=["compliance_reviewer"]))
    page = reviewer.get(f"/admin/liverooms/livesession/{response.json()['id']}/inspect/")
    assert page.status_code == 200 and "form" in page.context
