"""staffMembers/{uid}: the directory of an operator's dashboard users (admins and staff).

Firebase Auth cannot be queried by custom claim, so the claims' owner
(`accounts.roles.set_role`) keeps this one document per staff user beside them: the users
page lists an operator's people with one query. The claims stay the authority for access.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from google.cloud.firestore import Client
from google.cloud.firestore_v1.base_query import FieldFilter

from parkingdone import ids
from parkingdone.models.base import Document

COLLECTION = "staffMembers"


class StaffMember(Document):
    operator_id: str
    email: str | None = None
    display_name: str | None = None
    role: str
    invited_at: datetime | None = None
    invited_by: str | None = None
    updated_at: datetime


def get(db: Client, uid: str) -> StaffMember | None:
    if not ids.is_valid(uid):  # a uid from a URL: never a malformed document path
        return None
    return StaffMember.from_snapshot(db.collection(COLLECTION).document(uid).get())


def of_operator(db: Client, operator_id: str, limit: int = 500) -> list[StaffMember]:
    docs = (
        db.collection(COLLECTION)
        .where(filter=FieldFilter("operatorId", "==", operator_id))
        .limit(limit)
        .get()
    )
    members = [m for m in (StaffMember.from_snapshot(s) for s in docs) if m is not None]
    return sorted(members, key=lambda m: (m.role != "operator_admin", (m.email or m.id).lower()))


def put(db: Client, uid: str, fields: dict[str, Any]) -> None:
    """Create or update the member's entry (fields in stored, camelCase form)."""
    db.collection(COLLECTION).document(uid).set(fields, merge=True)


def remove(db: Client, uid: str) -> None:
    db.collection(COLLECTION).document(uid).delete()
