"""users/{uid}/pushTokens/{tokenId}: the driver's devices that receive push notifications."""

from __future__ import annotations

from google.cloud.firestore import Client
from pydantic import AwareDatetime

from parkingdone.models import users
from parkingdone.models.base import Document

COLLECTION = "pushTokens"


class PushToken(Document):
    token: str
    platform: str = ""
    device_id: str = ""
    updated_at: AwareDatetime | None = None


def of_user(db: Client, uid: str):
    return users.ref(db, uid).collection(COLLECTION)


def everywhere(db: Client):
    """Every account's tokens (a collection group query)."""
    return db.collection_group(COLLECTION)
