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


def _race(*callables):
    """Run the callables at the same instant in threads; return what each returned or raised."""
    barrier, results = threading.Barrier(len(callables)), [None] * len(callables)

    def run(index, function):
        barrier.wait()
        try:
            results[index] = function()
        except Exception as exc:  # the outcome is what the test inspects
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(callables)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_reviewers_deciding_the_same_file_at_once_exactly_one_wins(settings, tmp_path):
    from datetime import date

    from accounts import registration
    from accounts.actors import Actor
    from accounts.demo import demo_image, make_credit_code
    from accounts.models import FileEvent, FileStatus, RegistrationFile
    from merchants.services import LicenceData, business_file_create
    from tests.factories import UserFactory

    settings.MEDIA_ROOT = tmp_path
    first = Actor.for_user(UserFactory(roles=["compliance_reviewer"]))
    second = Actor.for_user(UserFactory(roles=["compliance_reviewer"]))
    for n in range(5):
        file = business_file_create(
            kind="merchant",
            entity_type="enterprise",
            name=f"竞争测试{n}",
            credit_code=make_credit_code("330106", 50_000_000 + n),
            representative="甲",
            address="杭州",
            contact_phone="13812345678",
            categories=["general"],
            licences=[LicenceData("business", f"R{n}", "局", date(2020, 1, 1))],
            actor=TEST_ACTOR,
        )
        registration.document_add(
            file=file, kind="business_licence", upload=demo_image("x"), actor=TEST_ACTOR
        )
        registration.file_submit(file=file, actor=TEST_ACTOR)
        stale_a = RegistrationFile.objects.get(pk=file.pk)
        stale_b = RegistrationFile.objects.get(pk=file.pk)
        outcomes = _race(
            lambda a=stale_a: registration.file_approve(file=a, actor=first),
            lambda b=stale_b: registration.file_reject(
                file=b, reasons=["other"], text="不符合", actor=second
            ),
        )
        winners = [o for o in outcomes if isinstance(o, RegistrationFile)]
        assert len(winners) == 1, outcomes
        assert all(isinstance(o, (RegistrationFile, Conflict)) for o in outcomes), outcomes
        file.refresh_from_db()
        assert file.status in (FileStatus.APPROVED, FileStatus.REJECTED)
        decisions = file.events.filter(kind__in=[FileEvent.Kind.APPROVED, FileEvent.Kind.REJECTED])
        assert decisions.count() == 1


def test_registering_one_identity_twice_at_once_stores_it_once():
    from django.core.exceptions import ValidationError

    from accounts.demo import make_credit_code
    from accounts.models import Party
    from merchants.services import business_file_create

    code = make_credit_code("330106", 60_000_001)

    def create(name):
        return lambda: business_file_create(
            kind="merchant",
            entity_type="enterprise",
            name=name,
            credit_code=code,
            representative="甲",
            address="杭州",
            contact_phone="13812345678",
            actor=TEST_ACTOR,
        )

    outcomes = _race(create("甲公司"), create("乙公司"))
    assert sum(not isinstance(o, Exception) for o in outcomes) == 1, outcomes
    assert all(not isinstance(o, Exception) or isinstance(o, ValidationError) for o in outcomes)
    assert Party.objects.filter(kind="merchant").count() == 1


def test_the_throttle_counts_every_concurrent_request_once_on_redis(monkeypatch):
    from django.core.cache import caches
    from rest_framework.test import APIRequestFactory
    from rest_framework.throttling import SimpleRateThrottle

    from config.api.throttling import ApiKeyRateThrottle

    cache = caches["default"]
    assert "redis" in type(cache).__module__, type(cache)
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"api_key": "25/minute"})

    class Key:
        pk = 424242

    def one():
        request = APIRequestFactory().get("/")
        request.auth = Key()
        return ApiKeyRateThrottle().allow_request(request, None)

    outcomes = _race(*[one for _ in range(40)])
    # DRF's timestamp list loses counts when requests overlap; the counter does not.
    assert outcomes.count(True) == 25, outcomes


def test_leases_from_the_redis_counter_never_pass_the_limit(monkeypatch):
    """A high limit is counted in leases (config/api/throttling.py): threads racing on one key,
    each with a cache backend and leases of its own, get no more than the limit between them."""
    from django.core.cache import caches
    from rest_framework.test import APIRequestFactory
    from rest_framework.throttling import SimpleRateThrottle

    from config.api.throttling import ApiKeyRateThrottle, lease_size

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"api_key": "3000/minute"})
    assert lease_size(3000) == 3
    assert "redis" in type(caches["default"]).__module__

    class Key:
        pk = 525252

    def burst():
        # caches["default"] is a backend per thread, as in a threaded server.
        allowed = 0
        for _ in range(500):
            request = APIRequestFactory().get("/")
            request.auth = Key()
            allowed += ApiKeyRateThrottle().allow_request(request, None)
        return allowed

    outcomes = _race(*[burst for _ in range(8)])
    total = sum(outcomes)
    # 4,000 asked for; the 7 other threads may each hold 2 unused when the limit is reached.
    assert 3000 - 7 * 2 <= total <= 3000, outcomes


def test_one_batch_of_signals_sent_twice_at_once_raises_its_alerts_once(settings, tmp_path):
    from django.utils import timezone

    from liverooms import services as liverooms
    from liverooms.models import Alert, MonitoringRule, RuleStatus, SignalBatch
    from tests.fuzz.world import build_world

    settings.MEDIA_ROOT = tmp_path
    # The shipped rule pack is migrated data, which the module's earlier transactional tests
    # flush: a rule of its own.
    MonitoringRule.objects.create(
        code="lure_test",
        category="offline_transaction",
        severity="high",
        kind="keyword",
        keywords=["加微信"],
        signal_kinds=["chat"],
        legal_basis="2021 Measures Art. 18",
        status=RuleStatus.PUBLISHED,
        published_at=timezone.now(),
    )
    world = build_world()
    batch = [{"kind": "chat", "at": timezone.now(), "text": "家人们加微信私聊，单独转账价"}]

    def send():
        return liverooms.signals_ingest(session=world.session, signals=batch, actor=TEST_ACTOR)

    outcomes = _race(send, send)
    assert all(isinstance(o, liverooms.SignalsReceived) for o in outcomes), outcomes
    assert sorted(o.replayed for o in outcomes) == [False, True]
    first, again = sorted(outcomes, key=lambda o: o.replayed)
    assert first.alerts
    assert [a.pk for a in again.alerts] == sorted(a.pk for a in first.alerts)
    assert SignalBatch.objects.filter(session=world.session).count() == 1
    assert Alert.objects.filter(session=world.session).count() == len(first.alerts)
