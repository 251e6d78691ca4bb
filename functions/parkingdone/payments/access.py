"""Who may do what with payments: drivers on their own things, operator admins on their
operator's, super admins on everything. Claims come from the verified ID token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parkingdone import errors

# Never a token claim (setStaffRole grants operator roles only): the role of
# work the platform does by itself, such as refunding a corrected stay.
SYSTEM_ROLE = "system"


@dataclass(frozen=True)
class Actor:
    uid: str
    role: str | None
    operator_id: str | None

    @classmethod
    def from_claims(cls, uid: str, claims: dict[str, Any]) -> Actor:
        role = claims.get("role")
        operator_id = claims.get("operatorId")
        return cls(
            uid,
            role if isinstance(role, str) else None,
            operator_id if isinstance(operator_id, str) else None,
        )

    @property
    def is_admin(self) -> bool:
        return self.role == "super_admin" or (
            self.role == "operator_admin" and self.operator_id is not None
        )

    def require_admin_of(self, operator_id: str) -> None:
        """Operator admins act only on their own operator's data; super admins on all."""
        if self.role in ("super_admin", SYSTEM_ROLE):
            return
        if self.role == "operator_admin" and self.operator_id == operator_id:
            return
        raise errors.forbidden("You are not an administrator of this operator", "not_admin")


SYSTEM = Actor("system", SYSTEM_ROLE, None)
