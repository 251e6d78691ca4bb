"""plateStatus/{facilityId}__{plate}: the plate's document at a facility: its track of events
and its enforcement projection."""

from __future__ import annotations

from google.cloud.firestore import Client

COLLECTION = "plateStatus"


def collection(db: Client):
    return db.collection(COLLECTION)


def ref(db: Client, doc_id: str):
    return db.collection(COLLECTION).document(doc_id)
