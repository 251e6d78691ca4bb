"""retentionPolicies/{operatorId}: an operator's retention policy (the model is
retention.RetentionPolicy)."""

from __future__ import annotations

from google.cloud.firestore import Client

COLLECTION = "retentionPolicies"


def collection(db: Client):
    return db.collection(COLLECTION)


def ref(db: Client, operator_id: str):
    return db.collection(COLLECTION).document(operator_id)
