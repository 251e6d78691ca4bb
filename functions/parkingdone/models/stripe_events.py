"""stripeEvents/{eventId}: Stripe webhook events already processed (idempotency)."""

from __future__ import annotations

from google.cloud.firestore import Client

COLLECTION = "stripeEvents"


def collection(db: Client):
    return db.collection(COLLECTION)


def ref(db: Client, event_id: str):
    return db.collection(COLLECTION).document(event_id)
