"""The registry's services: identity hashing, duplicates, restrictions and their timeline."""

import hashlib
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts import services
from accounts.identity import identity_hash
from accounts.models import Party, PartyEvent, PartyKind, Restriction, RestrictionKind
from config.errors import Conflict
from tests.factories import TEST_ACTOR, register_party

pytestmark = pytest.mark.django_db

ID_NUMBER = "11010519491231002X"


def test_identity_hash_is_keyed_not_a_bare_digest(settings):
    plain = hashlib.sha256(ID_NUMBER.encode()).hexdigest()
    first = identity_hash(ID_NUMBER)
    assert first != plain
    settings.IDENTITY_HASH_KEY = "another-key-another-key-another-key!"
    assert identity_hash(ID_NUMBER) != first


def test_identity_hash_ignores_spacing_and_case():
    assert identity_hash("110105 19491231 002x") == identity_hash(ID_NUMBER)


def test_registering_the_same_identity_twice_as_the_same_kind_is_refused():
    register_party(kind=PartyKind.ANCHOR, identifier=ID_NUMBER)
    with pytest.raises(ValidationError):
        register_party(kind=PartyKind.ANCHOR, identifier=ID_NUMBER)
    assert Party.objects.filter(identity_hash=identity_hash(ID_NUMBER)).count() == 1


def test_the_same_person_may_be_anchor_and_merchant_and_is_found_across_kinds():
    anchor = register_party(kind=PartyKind.ANCHOR, identifier=ID_NUMBER)
    merchant = register_party(kind=PartyKind.MERCHANT, identifier=ID_NUMBER)
    found = set(Party.objects.filter(identity_hash=identity_hash(ID_NUMBER)))
    assert found == {anchor, merchant}


def test_registration_writes_a_timeline_event_with_the_actor():
    party = register_party()
    event = party.events.get()
    assert event.kind == PartyEvent.Kind.REGISTERED
    assert event.actor_label == "system:tests"


def test_restriction_in_force_respects_start_end_and_lifting():
    party = register_party()
    now = timezone.now()
    future = services.restriction_impose(
        party=party,
        kind=RestrictionKind.LIVE,
        reason="下周起",
        actor=TEST_ACTOR,
        starts_at=now + timedelta(days=7),
    )
    current = services.restriction_impose(
        party=party,
        kind=RestrictionKind.BLACKLIST,
        reason="列入黑名单",
        actor=TEST_ACTOR,
        ends_at=now + timedelta(days=365),
    )
    assert list(Restriction.objects.in_force()) == [current]
    assert list(Restriction.objects.in_force(now + timedelta(days=8))) == [current, future] or set(
        Restriction.objects.in_force(now + timedelta(days=8))
    ) == {current, future}
    assert list(Restriction.objects.in_force(now + timedelta(days=400))) == [future]


def test_imposing_and_lifting_are_on_the_timeline():
    party = register_party()
    restriction = services.restriction_impose(
        party=party,
        kind=RestrictionKind.LIVE,
        reason="引导线下交易",
        legal_basis="LCM Art. 12",
        actor=TEST_ACTOR,
    )
    services.restriction_lift(restriction=restriction, reason="申诉成立", actor=TEST_ACTOR)
    kinds = list(party.events.values_list("kind", flat=True))
    assert kinds == ["registered", "restriction_imposed", "restriction_lifted"]
    lifted = party.events.get(kind="restriction_lifted")
    assert lifted.reason == "申诉成立"
    assert lifted.data["restriction_id"] == restriction.pk


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kind": "prison"}, "kind"),
        ({"reason": "  "}, "reason"),
        ({"ends_at": "past"}, "ends_at"),
    ],
)
def test_bad_restrictions_are_refused_and_change_nothing(kwargs, field):
    party = register_party()
    arguments = {
        "party": party,
        "kind": RestrictionKind.LIVE,
        "reason": "理由",
        "actor": TEST_ACTOR,
    }
    arguments.update(kwargs)
    if arguments.get("ends_at") == "past":
        arguments["ends_at"] = timezone.now() - timedelta(days=1)
    with pytest.raises(ValidationError) as excinfo:
        services.restriction_impose(**arguments)
    assert field in excinfo.value.message_dict
    assert not Restriction.objects.exists()
    assert party.events.count() == 1


def test_lifting_twice_is_a_conflict():
    party = register_party()
    restriction = services.restriction_impose(
        party=party, kind=RestrictionKind.LIVE, reason="x", actor=TEST_ACTOR
    )
    services.restriction_lift(restriction=restriction, reason="first", actor=TEST_ACTOR)
    with pytest.raises(Conflict):
        services.restriction_lift(restriction=restriction, reason="second", actor=TEST_ACTOR)
    assert party.events.filter(kind="restriction_lifted").count() == 1


def test_user_roles_reject_unknown_roles():
    from tests.factories import UserFactory

    user = UserFactory()
    with pytest.raises(ValidationError):
        services.user_set_roles(user=user, role_slugs=["emperor"], actor=TEST_ACTOR)


def test_api_key_names_and_scopes_are_validated():
    with pytest.raises(ValidationError):
        services.api_key_create(name="k", scopes=["everything"], actor=TEST_ACTOR)
    services.api_key_create(name="k", scopes=["parties:read"], actor=TEST_ACTOR)
    with pytest.raises(ValidationError):
        services.api_key_create(name="k", scopes=["parties:read"], actor=TEST_ACTOR)
