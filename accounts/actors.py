"""Who did something: a person, an integrator's API key, or a system task.

Every service that changes state takes `actor=` so that its event row can say who acted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from accounts.models import ApiKey, User


@dataclass(frozen=True)
class Actor:
    label: str
    user: User | None = None

    @classmethod
    def for_user(cls, user: User) -> Actor:
        return cls(label=f"user:{user.get_username()}", user=user)

    @classmethod
    def for_api_key(cls, key: ApiKey) -> Actor:
        return cls(label=f"api:{key.name}")

    @classmethod
    def system(cls, task: str) -> Actor:
        return cls(label=f"system:{task}")

    @property
    def is_system(self) -> bool:
        """A task of the product's own, which no person or key can act as."""
        return self.user is None and self.label.startswith("system:")

    def event_fields(self) -> dict:
        """The columns every event table uses to record the actor."""
        return {"actor_user": self.user, "actor_label": self.label}
