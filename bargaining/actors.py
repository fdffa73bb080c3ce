"""Who is acting: a signed-in user or the system (the deadline sweep)."""

from __future__ import annotations

from dataclasses import dataclass, field

SYSTEM_ROLE = "system"


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    name: str
    roles: frozenset[str] = field(default_factory=frozenset)
    # Materialised path of the actor's federation ("/1/4/"); None = the whole tree (system).
    org_path: str | None = None

    @property
    def is_system(self) -> bool:
        return SYSTEM_ROLE in self.roles

    def primary_role(self, allowed: frozenset[str]) -> str:
        """The role under which an action is taken (recorded on the event row)."""
        for role in sorted(self.roles):
            if role in allowed:
                return role
        return sorted(self.roles)[0] if self.roles else "none"


SYSTEM = Actor(user_id=None, name="系统", roles=frozenset({SYSTEM_ROLE}), org_path=None)
