"""Test data. Parties are registered through the real service so that their identity hash and
timeline are what production would have."""

import itertools
from datetime import date

import factory
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from accounts.actors import Actor
from accounts.demo import make_credit_code, make_resident_id
from accounts.models import PartyKind, User

_serial = itertools.count(1)
TEST_ACTOR = Actor.system("tests")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        self.save()
        if extracted:
            services.user_set_roles(user=self, role_slugs=extracted, actor=TEST_ACTOR)


def totp_device(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="test", confirmed=True)


def register_party(kind: str = PartyKind.MERCHANT, name: str | None = None, **kwargs):
    n = next(_serial)
    if kind == PartyKind.ANCHOR:
        identifier = make_resident_id("330106", date(1990, 1, 1), n % 500, female=bool(n % 2))
    else:
        identifier = make_credit_code("330106", 30_000_000 + n)
    return services.party_register(
        kind=kind,
        name=name or f"测试主体{n}",
        identifier=kwargs.pop("identifier", identifier),
        platform_ref=kwargs.pop("platform_ref", f"t-{n}"),
        actor=TEST_ACTOR,
    )
