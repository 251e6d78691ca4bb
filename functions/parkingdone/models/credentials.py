"""credentials/{secretHash}: webhook tokens and enforcement API keys, by the hash of the
secret (the model is credentials.Credential)."""

from __future__ import annotations

from google.cloud.firestore import Client

COLLECTION = "credentials"


def collection(db: Client):
    return db.collection(COLLECTION)


def ref(db: Client, secret_hash: str):
    return db.collection(COLLECTION).document(secret_hash)
