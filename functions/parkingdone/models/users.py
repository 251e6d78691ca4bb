"""users/{uid}: a driver's profile (written by the app and by payments), with its
subcollections vehicles (models/vehicles.py) and pushTokens (models/push_tokens.py)."""

from __future__ import annotations

from google.cloud.firestore import Client

from parkingdone.models.base import Document

COLLECTION = "users"


class User(Document):
    """The driver's profile; payments read its payment part (payments.models)."""

    email: str | None = None
    display_name: str | None = None
    language: str = "en"
    stripe_customer_id: str | None = None
    default_payment_method_id: str | None = None


def collection(db: Client):
    return db.collection(COLLECTION)


def ref(db: Client, uid: str):
    return db.collection(COLLECTION).document(uid)


def get(db: Client, uid: str) -> User | None:
    return User.from_snapshot(ref(db, uid).get())
