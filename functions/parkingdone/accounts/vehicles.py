"""Vehicles of a driver, and the plate registry: a plate is active on one account at a time.

`plateOwners/{plate}` is the registry ingestion reads to attach a stay to a driver; it and
`users/{uid}/vehicles/{plate}` change together in one transaction, so a plate can never be
held by two accounts and a stay is never charged twice. Moving a plate another account holds
is refused: that account must remove it first (or support moves it after checking).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from firebase_functions import logger
from google.cloud import firestore
from pydantic import Field

from parkingdone import errors, plates
from parkingdone.callable_api import Caller, Input
from parkingdone.models.plate_owners import COLLECTION as PLATE_OWNERS
from parkingdone.models.users import COLLECTION as USERS
from parkingdone.models.vehicles import COLLECTION as VEHICLES

MAX_VEHICLES = 10


class RegisterVehicle(Input):
    plate: str = Field(min_length=1, max_length=32)
    country: str = Field(default="FI", pattern=r"^[A-Z]{2}$")
    nickname: str = Field(default="", max_length=40)


class RemoveVehicle(Input):
    plate: str = Field(min_length=1, max_length=32)


def _normalise(raw: str) -> str:
    try:
        return plates.normalise(raw)
    except plates.InvalidPlate as exc:
        raise errors.bad_request(f"Invalid plate {raw!r}: {exc}", "invalid_plate") from exc


def register(db: firestore.Client, caller: Caller, request: RegisterVehicle) -> dict[str, Any]:
    plate = _normalise(request.plate)
    owner_ref = db.collection(PLATE_OWNERS).document(plate)
    user_ref = db.collection(USERS).document(caller.uid)
    vehicle_ref = user_ref.collection(VEHICLES).document(plate)
    now = datetime.now(UTC)

    @firestore.transactional
    def run(transaction: firestore.Transaction) -> str:
        owner = owner_ref.get(transaction=transaction)
        if owner.exists and owner.get("uid") != caller.uid:
            raise errors.conflict(
                f"Plate {plate} is already registered to another account. A plate can be "
                "active on one account at a time so that a stay is never charged twice; "
                "remove it from the other account first, or contact support.",
                "plate_taken",
            )
        if owner.exists:
            return "already_registered"
        owned = list(transaction.get(user_ref.collection(VEHICLES).limit(MAX_VEHICLES)))
        if len(owned) >= MAX_VEHICLES:
            raise errors.too_many(
                f"An account can hold at most {MAX_VEHICLES} vehicles; remove one first",
                "too_many_vehicles",
            )
        vehicle = {
            "plate": plate,
            "plateRaw": request.plate,
            "country": request.country,
            "nickname": request.nickname,
            "addedAt": now,
        }
        transaction.set(vehicle_ref, vehicle)
        transaction.set(
            owner_ref,
            {
                "uid": caller.uid,
                "plate": plate,
                "plateRaw": request.plate,
                "country": request.country,
                "since": now,
            },
        )
        return "registered"

    status = run(db.transaction())
    logger.info("accounts.vehicle_registered", uid=caller.uid, plate=plate, status=status)
    return {"plate": plate, "plateRaw": request.plate, "country": request.country, "status": status}


def remove(db: firestore.Client, caller: Caller, request: RemoveVehicle) -> dict[str, Any]:
    """Remove the caller's vehicle and free the plate; repeating it is harmless."""
    plate = _normalise(request.plate)
    owner_ref = db.collection(PLATE_OWNERS).document(plate)
    vehicle_ref = db.collection(USERS).document(caller.uid).collection(VEHICLES).document(plate)

    @firestore.transactional
    def run(transaction: firestore.Transaction) -> bool:
        owner = owner_ref.get(transaction=transaction)
        vehicle = vehicle_ref.get(transaction=transaction)
        # Another account's registration of the plate is never touched.
        if owner.exists and owner.get("uid") == caller.uid:
            transaction.delete(owner_ref)
        if vehicle.exists:
            transaction.delete(vehicle_ref)
        return vehicle.exists or (owner.exists and owner.get("uid") == caller.uid)

    removed = run(db.transaction())
    logger.info("accounts.vehicle_removed", uid=caller.uid, plate=plate, removed=removed)
    return {"plate": plate, "removed": removed}
