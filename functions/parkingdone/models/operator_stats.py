"""operatorStats/{operatorId}: an operator's running totals."""

from __future__ import annotations

from google.cloud.firestore import Client

COLLECTION = "operatorStats"


def collection(db: Client):
    return db.collection(COLLECTION)


def ref(db: Client, operator_id: str):
    return db.collection(COLLECTION).document(operator_id)
