"""New cases go round the reviewers who take cases and have room, the least loaded first and,
among equals, the one who waited longest; a lead can reassign by hand."""

from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from accounts.actors import Actor
from accounts.services import user_set_roles
from complaints import services
from complaints.models import Case, CaseEvent, CaseStatus, ReviewerCapacity
from config.errors import Conflict
from tests.factories import TEST_ACTOR, UserFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def team(scene):
    """Three reviewers with room for 10 cases each; the scene's own reviewer is on leave."""
    ReviewerCapacity.objects.filter(user=scene.reviewer).update(is_available=False)
    reviewers = [UserFactory(roles=["compliance_reviewer"]) for _ in range(3)]
    for user in reviewers:
        ReviewerCapacity.objects.create(user=user, max_open_cases=10)
    return reviewers


def file_many(scene, n: int):
    return [scene.file(order_number=f"RR-{i}") for i in range(n)]


def assignees(cases) -> Counter:
    for case in cases:
        case.refresh_from_db()
    return Counter(case.assignee for case in cases)


def test_nine_filings_go_three_to_each_reviewer(scene, team):
    cases = file_many(scene, 9)
    assert assignees(cases) == Counter({team[0]: 3, team[1]: 3, team[2]: 3})


def test_the_assignment_is_recorded_privately_on_the_timeline(scene, team):
    case = scene.file()
    event = case.events.get(kind=CaseEvent.Kind.ASSIGNED)
    assert event.public is False
    assert event.actor_label == "system:round_robin"
    assert event.data == {"assignee": case.assignee.get_username()}


def test_a_reviewer_at_capacity_is_skipped(scene, team):
    ReviewerCapacity.objects.filter(user=team[0]).update(max_open_cases=1)
    cases = file_many(scene, 5)
    assert assignees(cases) == Counter({team[0]: 1, team[1]: 2, team[2]: 2})


def test_a_closed_case_frees_room(scene, team):
    ReviewerCapacity.objects.filter(user__in=team).update(is_available=False)
    ReviewerCapacity.objects.filter(user=team[0]).update(is_available=True, max_open_cases=1)
    first = scene.file(order_number="A")
    assert first.assignee == team[0]
    assert scene.file(order_number="B").assignee is None  # full
    services.case_not_accept(
        case=first, reason="非本平台订单。", actor=Actor.for_user(scene.reviewer)
    )
    assert scene.file(order_number="C").assignee == team[0]


def test_an_unavailable_reviewer_is_skipped(scene, team):
    ReviewerCapacity.objects.filter(user=team[1]).update(is_available=False)
    cases = file_many(scene, 4)
    assert assignees(cases) == Counter({team[0]: 2, team[2]: 2})


def test_an_inactive_user_is_skipped(scene, team):
    team[2].is_active = False
    team[2].save()
    cases = file_many(scene, 4)
    assert assignees(cases) == Counter({team[0]: 2, team[1]: 2})


def test_someone_who_no_longer_handles_complaints_is_skipped(scene, team):
    # Moved to the auditors: they could not accept or decide anything assigned to them.
    user_set_roles(user=team[0], role_slugs=["auditor"], actor=TEST_ACTOR)
    cases = file_many(scene, 4)
    assert assignees(cases) == Counter({team[1]: 2, team[2]: 2})


def test_nobody_with_room_leaves_the_case_unassigned_for_a_lead(scene, team):
    ReviewerCapacity.objects.filter(user__in=team).update(max_open_cases=0)
    case = scene.file()
    case.refresh_from_db()
    assert case.assignee is None
    assert case.status == CaseStatus.NEW
    assert not case.events.filter(kind=CaseEvent.Kind.ASSIGNED).exists()


def test_the_least_loaded_reviewer_comes_first(scene, team):
    # team[0] already holds two open cases (assigned by hand).
    lead = Actor.for_user(scene.lead)
    for case in file_many(scene, 3):
        services.case_assign(case=case, assignee=team[0], actor=lead)
    cases = [scene.file(order_number=f"N-{i}") for i in range(4)]
    # Loads were 3/0/0 -> the next four go 2 and 2 to the other two.
    assert assignees(cases) == Counter({team[1]: 2, team[2]: 2})


def test_among_equally_loaded_reviewers_the_longest_waiting_is_next(scene, team, time_machine):
    time_machine.move_to(datetime(2025, 11, 3, 10, tzinfo=SHANGHAI), tick=False)
    base = datetime(2025, 11, 3, 8, tzinfo=SHANGHAI)
    ReviewerCapacity.objects.filter(user=team[0]).update(last_assigned_at=base)
    ReviewerCapacity.objects.filter(user=team[1]).update(last_assigned_at=base - timedelta(hours=1))
    ReviewerCapacity.objects.filter(user=team[2]).update(last_assigned_at=base + timedelta(hours=1))
    assert scene.file(order_number="T-1").assignee == team[1]
    assert scene.file(order_number="T-2").assignee == team[0]
    assert scene.file(order_number="T-3").assignee == team[2]
    capacity = ReviewerCapacity.objects.get(user=team[1])
    assert capacity.last_assigned_at == datetime(2025, 11, 3, 10, tzinfo=SHANGHAI)


def test_a_reviewer_who_never_had_a_case_goes_before_one_who_had(scene, team):
    ReviewerCapacity.objects.filter(user__in=team[:2]).update(
        last_assigned_at=datetime(2025, 1, 1, tzinfo=SHANGHAI)
    )
    assert scene.file().assignee == team[2]


# --- By hand ---------------------------------------------------------------------------------


def test_a_reviewer_reassigns_and_the_timeline_says_who(scene, team):
    case = scene.file()
    lead = Actor.for_user(scene.lead)
    case = services.case_assign(case=case, assignee=team[1], actor=lead)
    assert case.assignee == team[1]
    event = case.events.filter(kind=CaseEvent.Kind.ASSIGNED).last()
    assert event.actor_user == scene.lead
    assert event.data == {"assignee": team[1].get_username()}
    case = services.case_assign(case=case, assignee=None, actor=lead)
    assert case.assignee is None


def test_only_someone_who_handles_complaints_can_be_assigned(scene):
    auditor = UserFactory(roles=["auditor"])
    with pytest.raises(ValidationError) as error:
        services.case_assign(case=scene.file(), assignee=auditor, actor=Actor.for_user(scene.lead))
    assert "assignee" in error.value.message_dict


def test_assigning_needs_the_permission_and_an_open_case(scene):
    case = scene.file()
    with pytest.raises(PermissionError):
        services.case_assign(
            case=case, assignee=scene.reviewer, actor=Actor.for_user(UserFactory())
        )
    services.case_withdraw(case=case, reason="已自行解决。", actor=Actor(label="consumer"))
    with pytest.raises(Conflict):
        services.case_assign(case=case, assignee=scene.reviewer, actor=Actor.for_user(scene.lead))


def test_a_case_closed_meanwhile_is_refused_by_the_round_robin_not_handed_out(scene):
    from accounts.actors import Actor
    from config.errors import Conflict

    case = scene.file()
    stale = Case.objects.get(pk=case.pk)  # read before the consumer withdrew
    services.case_withdraw(case=case, reason="已解决", actor=Actor(label="consumer"))
    with pytest.raises(Conflict):
        services.case_assign_round_robin(case=stale, actor=Actor.system("tests"))
    assert case.events.filter(kind="assigned").count() == 1  # only the one at filing


def test_the_round_robin_reads_the_teams_permissions_in_one_query_however_large(scene, team):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        case = scene.file()
        case.assignee = None
        Case.objects.filter(pk=case.pk).update(assignee=None)
        with CaptureQueriesContext(connection) as ctx:
            services.case_assign_round_robin(case=case, actor=TEST_ACTOR)
        assert case.assignee is not None
        return len(ctx)

    small = queries()
    for _ in range(6):
        ReviewerCapacity.objects.create(
            user=UserFactory(roles=["compliance_reviewer"]), max_open_cases=10
        )
    assert queries() == small


def test_a_superuser_with_room_takes_cases_and_a_group_grants_the_permission(scene, team):
    from django.contrib.auth.models import Group, Permission

    ReviewerCapacity.objects.filter(user__in=team).update(is_available=False)
    boss = UserFactory(is_superuser=True)
    ReviewerCapacity.objects.create(user=boss, max_open_cases=1)
    helper = UserFactory()
    group = Group.objects.create(name="complaint helpers")
    group.permissions.add(Permission.objects.get(codename="change_case"))
    helper.groups.add(group)
    ReviewerCapacity.objects.create(user=helper, max_open_cases=1)
    cases = file_many(scene, 3)
    assert assignees(cases) == Counter({boss: 1, helper: 1, None: 1})


def test_the_open_load_of_some_reviewers_counts_their_open_cases_only(scene, team):
    cases = file_many(scene, 6)
    Case.objects.filter(pk=cases[0].pk).update(status=CaseStatus.CLOSED)
    everyone = services.open_load()
    assert sum(everyone.values()) == 5
    first = services.open_load([team[0].pk])
    assert first == {team[0].pk: everyone[team[0].pk]}
    assert services.open_load([]) == {}
