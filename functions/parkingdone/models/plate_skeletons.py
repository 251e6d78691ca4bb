"""plateSkeletons/{facilityId}__{skeleton}: the plates of a facility that look alike
(plates.skeleton), for officers' look-alike matches."""

from __future__ import annotations

from google.cloud.firestore import Client

COLLECTION = "plateSkeletons"


def collection(db: Client):
    return db.collection(COLLECTION)


def ref(db: Client, doc_id: str):
    return db.collection(COLLECTION).document(doc_id)
