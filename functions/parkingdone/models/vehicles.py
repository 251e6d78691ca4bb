"""users/{uid}/vehicles/{plate}: a driver's registered vehicles (plateOwners holds the
reverse: which driver a plate belongs to)."""

from __future__ import annotations

from google.cloud.firestore import Client
from pydantic import AwareDatetime

from parkingdone.models import users
from parkingdone.models.base import Document

COLLECTION = "vehicles"


class Vehicle(Document):
    plate: str
    plate_raw: str = ""
    country: str = "FI"
    nickname: str = ""
    added_at: AwareDatetime | None = None


def of_user(db: Client, uid: str):
    return users.ref(db, uid).collection(COLLECTION)


def ref(db: Client, uid: str, plate: str):
    return of_user(db, uid).document(plate)
