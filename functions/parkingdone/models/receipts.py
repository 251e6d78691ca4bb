"""receipts/{paymentId}: a driver's receipt (the model is payments.models.Receipt)."""

from __future__ import annotations

from google.cloud.firestore import Client

COLLECTION = "receipts"


def collection(db: Client):
    return db.collection(COLLECTION)


def ref(db: Client, payment_id: str):
    return db.collection(COLLECTION).document(payment_id)
