"""plateOwners/{plate}: which driver registered a plate (one owner per plate)."""

from __future__ import annotations

from google.cloud.firestore import Client
from pydantic import AwareDatetime

from parkingdone.models.base import Document

COLLECTION = "plateOwners"


class PlateOwner(Document):
    uid: str
    plate: str = ""
    plate_raw: str = ""
    country: str | None = None
    since: AwareDatetime | None = None


def collection(db: Client):
    return db.collection(COLLECTION)


def ref(db: Client, plate: str):
    return db.collection(COLLECTION).document(plate)
