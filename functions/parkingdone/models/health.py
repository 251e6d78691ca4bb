"""_health/ping: the document /api/health reads (never written)."""

from __future__ import annotations

from google.cloud.firestore import Client

COLLECTION = "_health"


def collection(db: Client):
    return db.collection(COLLECTION)


def ref(db: Client, doc_id: str):
    return db.collection(COLLECTION).document(doc_id)
