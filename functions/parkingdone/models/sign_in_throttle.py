"""signInThrottle/{digest}: failed dashboard sign-ins per hashed account or address."""

from __future__ import annotations

from google.cloud.firestore import Client

COLLECTION = "signInThrottle"


def collection(db: Client):
    return db.collection(COLLECTION)


def ref(db: Client, digest: str):
    return db.collection(COLLECTION).document(digest)
