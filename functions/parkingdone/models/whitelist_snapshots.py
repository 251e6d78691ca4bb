"""whitelistSnapshots/{facilityId}__{cursor}: a whitelist as a device last fetched it, for
delta answers (expires by TTL)."""

from __future__ import annotations

from google.cloud.firestore import Client

COLLECTION = "whitelistSnapshots"


def collection(db: Client):
    return db.collection(COLLECTION)


def ref(db: Client, doc_id: str):
    return db.collection(COLLECTION).document(doc_id)
