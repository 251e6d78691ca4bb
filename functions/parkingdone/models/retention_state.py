"""retentionState/{operatorId}: where the retention sweep stopped for an operator."""

from __future__ import annotations

from google.cloud.firestore import Client

COLLECTION = "retentionState"


def collection(db: Client):
    return db.collection(COLLECTION)


def ref(db: Client, operator_id: str):
    return db.collection(COLLECTION).document(operator_id)
