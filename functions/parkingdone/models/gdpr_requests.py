"""gdprRequests/{requestId}: a driver's export or deletion request."""

from __future__ import annotations

from google.cloud.firestore import Client

COLLECTION = "gdprRequests"


def collection(db: Client):
    return db.collection(COLLECTION)


def ref(db: Client, request_id: str):
    return db.collection(COLLECTION).document(request_id)
