"""Client preview: a super admin opens an operator's dashboard exactly as the operator's
admins see it, read-only.

Starting a preview writes an audit entry in the operator's log (`preview.started`); the
entry's id is the preview's address, `/admin/preview/{entryId}/…`, valid for the one super
admin who started it for PREVIEW_LIFETIME. For each request of that address the app reads
the entry (one read by id), scopes the request to the operator, lets the pages see the user
as an operator admin (so they show what an admin sees), and refuses every state-changing
request before any view runs (`app.py`), whatever page it is for.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import g
from google.cloud.firestore import Client

from parkingdone.admin import audit, auth
from parkingdone.models import audit_log, operators
from parkingdone.models.operators import OperatorDoc

ACTION = "preview.started"
PREVIEW_LIFETIME = timedelta(hours=8)


def start(db: Client, operator: OperatorDoc) -> str:
    """Record the signed-in super admin's preview of `operator`; returns the preview id."""
    g.operator = operator
    now = datetime.now(UTC)
    return audit.record(
        db,
        ACTION,
        f"operators/{operator.id}",
        None,
        {"readOnly": True, "until": (now + PREVIEW_LIFETIME).isoformat()},
    )


def load(db: Client, preview_id: str, principal: auth.Principal | None) -> OperatorDoc | None:
    """The operator this preview shows, if `principal` started it and it has not ended."""
    if principal is None or not principal.is_super:
        return None
    snapshot = db.collection(audit_log.COLLECTION).document(preview_id).get()
    entry = audit_log.AuditEntry.from_snapshot(snapshot)
    if entry is None or entry.action != ACTION or entry.uid != principal.uid:
        return None
    if entry.at + PREVIEW_LIFETIME <= datetime.now(UTC):
        return None
    return operators.get(db, entry.operator_id)


def as_admin(principal: auth.Principal, operator: OperatorDoc) -> auth.Principal:
    """The user as the pages should see them during the preview: the operator's admin."""
    return auth.Principal(
        uid=principal.uid, email=principal.email, role="operator_admin", operator_id=operator.id
    )
