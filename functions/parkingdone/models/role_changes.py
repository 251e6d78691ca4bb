"""roleChanges/{autoId}: the audit trail of staff roles."""

from __future__ import annotations

from google.cloud.firestore import Client

COLLECTION = "roleChanges"


def collection(db: Client):
    return db.collection(COLLECTION)
