"""passes/{passId}: a parking pass bought by a driver (the model is
payments.models.ParkingPass)."""

from __future__ import annotations

from google.cloud.firestore import Client

COLLECTION = "passes"


def collection(db: Client):
    return db.collection(COLLECTION)


def ref(db: Client, pass_id: str):
    return db.collection(COLLECTION).document(pass_id)
