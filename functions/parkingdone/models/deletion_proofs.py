"""deletionProofs/{autoId}: what a driver's deletion or an operator's termination
removed: counts, no person."""

from __future__ import annotations

from google.cloud.firestore import Client

COLLECTION = "deletionProofs"


def collection(db: Client):
    return db.collection(COLLECTION)


def ref(db: Client, proof_id: str):
    return db.collection(COLLECTION).document(proof_id)
