"""whitelistShards/{facilityId}__{n}: one of a facility's whitelist shards (plates allowed now)."""

from __future__ import annotations

from google.cloud.firestore import Client

COLLECTION = "whitelistShards"


def collection(db: Client):
    return db.collection(COLLECTION)


def ref(db: Client, doc_id: str):
    return db.collection(COLLECTION).document(doc_id)
