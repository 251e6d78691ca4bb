"""passProducts/{productId}: a pass an operator sells (the model is
payments.models.PassProduct)."""

from __future__ import annotations

from google.cloud.firestore import Client

COLLECTION = "passProducts"


def collection(db: Client):
    return db.collection(COLLECTION)


def ref(db: Client, product_id: str):
    return db.collection(COLLECTION).document(product_id)
