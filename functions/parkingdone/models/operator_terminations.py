"""operatorTerminations/{operatorId}: an operator's export and removal, with progress."""

from __future__ import annotations

from google.cloud.firestore import Client

COLLECTION = "operatorTerminations"


def collection(db: Client):
    return db.collection(COLLECTION)


def ref(db: Client, operator_id: str):
    return db.collection(COLLECTION).document(operator_id)
