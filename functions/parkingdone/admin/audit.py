"""Writing the audit log: who (uid, e-mail, role), for which operator, did what, to what,
before -> after, when. Every state-changing dashboard action calls `record`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import g
from google.cloud.firestore import Client

from parkingdone.models import audit_log


def record(
    db: Client,
    action: str,
    target: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> str:
    principal = g.principal
    ref = db.collection(audit_log.COLLECTION).document()
    ref.set(
        {
            "operatorId": g.operator.id,
            "uid": principal.uid,
            "email": principal.email,
            "role": principal.role,
            "action": action,
            "target": target,
            "before": before,
            "after": after,
            "at": datetime.now(UTC),
        }
    )
    return ref.id
