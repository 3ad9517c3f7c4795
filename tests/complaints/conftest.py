"""Complaint fixtures: a merchant with a room on air and its anchor, reviewers, a lead, and a
filed complaint. Parties are registered through the real services."""

from dataclasses import dataclass

import pytest
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import Party, PartyKind
from complaints import services
from complaints.models import Case, CaseKind, ReviewerCapacity, Source
from liverooms.models import LiveSession
from liverooms.services import room_register
from tests.factories import TEST_ACTOR, UserFactory, register_party


@dataclass
class Scene:
    merchant: Party
    anchor: Party
    session: LiveSession
    reviewer: object  # User with the compliance_reviewer role
    lead: object  # User with the compliance_lead role

    def complaint_input(self, **overrides) -> services.CaseInput:
        values = dict(
            kind=CaseKind.COMPLAINT,
            facts="直播间宣称是真丝，收到后是化纤。",
            merchant=self.merchant,
            order_number="ORD-1001",
            purchase="真丝围巾",
            category="false_advertising",
            request="refund",
            contact_name="王女士",
            contact_email="wang@example.com",
            contact_phone="13812345678",
        )
        values.update(overrides)
        return services.CaseInput(**values)

    def file(self, **overrides) -> Case:
        received_at = overrides.pop("received_at", None)
        platform_ref = overrides.pop("platform_ref", "")
        source = overrides.pop("source", Source.WEB)
        return services.case_file(
            data=self.complaint_input(**overrides),
            source=source,
            actor=TEST_ACTOR,
            received_at=received_at,
            platform_ref=platform_ref,
        ).case


@pytest.fixture
def scene(db, settings, tmp_path) -> Scene:
    settings.MEDIA_ROOT = tmp_path
    merchant = register_party(PartyKind.MERCHANT, name="西子良品")
    anchor = register_party(PartyKind.ANCHOR, name="小雨")
    room = room_register(
        owner=merchant,
        platform_ref="room-c1",
        title="西子良品直播间",
        category="apparel",
        followers=5000,
        actor=TEST_ACTOR,
    )
    # A session row as the gate would have written it; the gate itself is tested in liverooms.
    session = LiveSession.objects.create(room=room, owner=room.owner)
    reviewer = UserFactory(roles=["compliance_reviewer"])
    lead = UserFactory(roles=["compliance_lead"])
    ReviewerCapacity.objects.create(user=reviewer, max_open_cases=50)
    return Scene(merchant, anchor, session, reviewer, lead)


@pytest.fixture
def reviewer_actor(scene) -> Actor:
    return Actor.for_user(scene.reviewer)


@pytest.fixture
def public(scene, tmp_path):
    """The scene as the public sees it: its merchant and anchor approved. The approval
    workflow is tested in accounts; the public pages only read its mark."""
    Party.objects.filter(pk__in=[scene.merchant.pk, scene.anchor.pk]).update(
        approved_at=timezone.now()
    )
    scene.media = tmp_path
    return scene
