"""Behaviour that only a real PostgreSQL (concurrent writers) and Redis can show."""

import threading

import pytest
from django.db import connection

from accounts import services
from accounts.models import RestrictionKind
from config.errors import Conflict
from tests.factories import TEST_ACTOR, register_party

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_running_on_postgresql():
    assert connection.vendor == "postgresql"


def test_two_people_lifting_a_restriction_at_once_exactly_one_wins():
    party = register_party()
    restriction = services.restriction_impose(
        party=party, kind=RestrictionKind.LIVE, reason="x", actor=TEST_ACTOR
    )
    for round_ in range(1, 6):
        outcomes, barrier = [], threading.Barrier(2)

        def lift(label, outcomes=outcomes, barrier=barrier, restriction=restriction):
            barrier.wait()
            try:
                services.restriction_lift(restriction=restriction, reason=label, actor=TEST_ACTOR)
                outcomes.append("won")
            except Conflict:
                outcomes.append("conflict")
            finally:
                connection.close()

        threads = [threading.Thread(target=lift, args=(n,)) for n in ("a", "b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["conflict", "won"]
        assert party.events.filter(kind="restriction_lifted").count() == round_
        # Next round: a fresh restriction to race over.
        restriction = services.restriction_impose(
            party=party, kind=RestrictionKind.LIVE, reason="x", actor=TEST_ACTOR
        )


def test_healthz_checks_postgresql_and_redis(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}
