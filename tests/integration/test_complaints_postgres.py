"""Complaints under concurrent writers, on a real PostgreSQL."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import PartyKind
from complaints import services
from complaints.models import Case, CaseKind, CaseStatus, Evaluation, ReviewerCapacity, Source
from config.errors import Conflict
from tests.factories import TEST_ACTOR, UserFactory, register_party
from tests.integration.test_postgres import _race

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _input(merchant, n, **overrides):
    values = dict(
        kind=CaseKind.COMPLAINT,
        facts="描述不符",
        merchant=merchant,
        order_number=f"PG-{n}",
        request="refund",
        contact_email=f"c{n}@example.com",
    )
    values.update(overrides)
    return services.CaseInput(**values)


def test_filings_at_the_same_instant_are_shared_out_fairly():
    merchant = register_party(PartyKind.MERCHANT)
    reviewers = [UserFactory(roles=["compliance_reviewer"]) for _ in range(2)]
    for reviewer in reviewers:
        ReviewerCapacity.objects.create(user=reviewer, max_open_cases=10)
    for round_ in range(3):
        results = _race(
            *(
                lambda n=n, r=round_: services.case_file(
                    data=_input(merchant, f"{r}-{n}"), source=Source.WEB, actor=TEST_ACTOR
                )
                for n in range(2)
            )
        )
        assert all(isinstance(r, services.Filed) for r in results), results
    loads = sorted(Case.objects.filter(assignee__in=reviewers).values_list("assignee", flat=True))
    assert [loads.count(r.pk) for r in reviewers] == [3, 3]


def test_one_complaint_forwarded_twice_at_once_is_stored_once():
    merchant = register_party(PartyKind.MERCHANT)
    received = timezone.now() - timedelta(hours=1)
    results = _race(
        *(
            lambda: services.case_file(
                data=_input(merchant, 1),
                source=Source.API,
                actor=TEST_ACTOR,
                received_at=received,
                platform_ref="app-42",
            )
            for _ in range(2)
        )
    )
    assert all(isinstance(r, services.Filed) for r in results), results
    assert sorted(r.created for r in results) == [False, True]
    assert Case.objects.filter(platform_ref="app-42").count() == 1


def test_one_evaluation_forwarded_twice_at_once_is_stored_once():
    merchant = register_party(PartyKind.MERCHANT)

    def submit():
        return services.evaluation_submit(
            merchant=merchant,
            anchor=None,
            order_number="PG-E",
            stars_description=5,
            stars_service=4,
            stars_logistics=5,
            source=Source.API,
            platform_ref="eval-7",
        )

    results = _race(submit, submit)
    assert all(isinstance(r, tuple) for r in results), results
    assert sorted(created for _evaluation, created in results) == [False, True]
    assert Evaluation.objects.filter(platform_ref="eval-7").count() == 1


def test_two_reviewers_merging_two_cases_into_each_other_do_not_deadlock():
    merchant = register_party(PartyKind.MERCHANT)
    first = Actor.for_user(UserFactory(roles=["compliance_reviewer"]))
    second = Actor.for_user(UserFactory(roles=["compliance_reviewer"]))
    a = services.case_file(data=_input(merchant, "a"), source=Source.WEB, actor=TEST_ACTOR).case
    b = services.case_file(data=_input(merchant, "b"), source=Source.WEB, actor=TEST_ACTOR).case
    results = _race(
        lambda: services.case_merge(duplicate=a, into=b, actor=first),
        lambda: services.case_merge(duplicate=b, into=a, actor=second),
    )
    merged = [r for r in results if isinstance(r, Case)]
    assert len(merged) == 1, results
    assert all(isinstance(r, (Case, Conflict)) for r in results), results
    statuses = sorted(Case.objects.filter(pk__in=[a.pk, b.pk]).values_list("status", flat=True))
    assert statuses == sorted([CaseStatus.MERGED, CaseStatus.NEW])
