"""dailyStats/{operatorId}__{day}: an operator's counts and sums of one local day."""

from __future__ import annotations

from google.cloud.firestore import Client

COLLECTION = "dailyStats"


def collection(db: Client):
    return db.collection(COLLECTION)


def ref(db: Client, doc_id: str):
    return db.collection(COLLECTION).document(doc_id)
