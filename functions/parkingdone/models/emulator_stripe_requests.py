"""emulatorStripeRequests/{autoId}: Stripe requests made under the emulators (tests read them)."""

from __future__ import annotations

from google.cloud.firestore import Client

COLLECTION = "emulatorStripeRequests"


def collection(db: Client):
    return db.collection(COLLECTION)
