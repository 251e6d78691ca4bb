"""receiptCounters/{operatorId}: the operator's last receipt number (numbers without gaps)."""

from __future__ import annotations

from google.cloud.firestore import Client

COLLECTION = "receiptCounters"


def collection(db: Client):
    return db.collection(COLLECTION)


def ref(db: Client, operator_id: str):
    return db.collection(COLLECTION).document(operator_id)
