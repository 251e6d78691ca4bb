"""Helpers of the ingestion tests: posting events, a second tenant, reading sessions."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from google.cloud.firestore import Client
from google.cloud.firestore_v1.base_query import FieldFilter

from parkingdone import credentials, tenants
from parkingdone.models import operators, plate_status, sessions

# Two days ago: inside every facility's late-event bound (older events are held for review).
T0 = (datetime.now(UTC) - timedelta(days=2)).replace(hour=14, minute=23, second=0, microsecond=0)


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def body(kind: str, at: datetime, plate: str = "ABC-123", facility: str = "kamppi-p1", **extra):
    return {"event": kind, "plate": plate, "facility_id": facility, "timestamp": iso(at), **extra}


def post(token: str | None, payload: Any, base: str | None = None, **kw) -> requests.Response:
    headers = kw.pop("headers", {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    url = (base or os.environ["HOSTING_URL"]) + "/webhook"
    if isinstance(payload, bytes | str):
        headers.setdefault("Content-Type", "application/json")
        return requests.post(url, data=payload, headers=headers, timeout=30, **kw)
    return requests.post(url, json=payload, headers=headers, timeout=30, **kw)


def add_tenant(
    db: Client,
    operator_id: str,
    facility_id: str,
    name: str,
    adapter: dict | None = None,
    **facility_fields: Any,
) -> str:
    """A second operator with one facility and a webhook token; returns the token."""
    db.collection(operators.COLLECTION).document(operator_id).set(
        tenants.Operator(id=operator_id, name=operator_id).model_dump(by_alias=True)
    )
    tenants.save_facility(
        db,
        tenants.Facility(id=facility_id, operator_id=operator_id, name=name, **facility_fields),
    )
    token, _ = credentials.issue(db, "webhook", operator_id, adapter=adapter, label="test")
    return token


def sessions_of(db: Client, facility_id: str, plate: str) -> list[dict[str, Any]]:
    query = (
        db.collection(sessions.COLLECTION)
        .where(filter=FieldFilter("facilityId", "==", facility_id))
        .where(filter=FieldFilter("plate", "==", plate))
    )
    snapshots = query.get()
    # Every stored session has the one model's shape (a ValidationError otherwise).
    for snapshot in snapshots:
        sessions.SessionDoc.from_snapshot(snapshot)
    found = [{**s.to_dict(), "id": s.id} for s in snapshots]
    return sorted(found, key=lambda s: (s["entry"] or s["exit"])["at"])


def pointer(db: Client, facility_id: str, plate: str) -> dict[str, Any] | None:
    """The plate's open stay at the facility as its track holds it, or None."""
    snapshot = plate_status.ref(db, f"{facility_id}__{plate}").get()
    stays = ((snapshot.to_dict() or {}).get("track") or {}).get("stays") or []
    open_stay = next((s for s in stays if s["status"] == "open"), None)
    return {**open_stay, "state": "open"} if open_stay else None


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
