"""The enforcement API for officers' handhelds, and the OpenAPI document.

    GET /api/enforcement/check/{plate}?facility=<id or display name>
    GET /api/enforcement/facility/{facility}/paid-plates[?since=<cursor>]
    GET /api/openapi.json

Authenticated by `x-api-key`: an enforcement key of one operator, limited to a set of its
facilities (401 for a bad or revoked key, 403 for a facility outside the key's set, 404 for
a facility the operator does not have).
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from firebase_functions import logger
from flask import Blueprint, Response, jsonify, request

from parkingdone import config, credentials, errors, tenants
from parkingdone.enforcement import checking, decision, store
from parkingdone.firebase import db

blueprint = Blueprint("enforcement", __name__)

OPENAPI_PATH = Path(__file__).resolve().parent.parent / "openapi.json"
CURSOR = re.compile(r"^[0-9a-f]{32}$")
MAX_FACILITY_REF = 200


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _authorize(facility_ref: str | None) -> tuple[credentials.Credential, tenants.Facility]:
    credential = credentials.authenticate(db(), "enforcement", request.headers.get("x-api-key"))
    facility_ref = (facility_ref or "").strip()
    if not facility_ref:
        raise errors.bad_request("Name the facility by id or display name", "missing_facility")
    if len(facility_ref) > MAX_FACILITY_REF:
        raise errors.bad_request("Facility reference is too long", "invalid_facility")
    facility = tenants.find_facility(db(), credential.operator_id, facility_ref)
    if facility is None:
        raise errors.not_found(f"Unknown facility {facility_ref!r}", "unknown_facility")
    if not credential.covers_facility(facility.id):
        raise errors.forbidden("This API key does not cover that facility")
    return credential, facility


def _caller(credential: credentials.Credential) -> store.Caller:
    # The key's hash identifies it in logs; the key itself is never written anywhere.
    return store.Caller(key_id=credential.secret_hash[:16], key_label=credential.label)


def _reads_header(response: Response, reads: int) -> None:
    # Local measurement aid (benchmarks): Firestore documents read for this answer.
    if config.is_emulator():
        response.headers["X-Firestore-Reads"] = str(reads)


@blueprint.get("/api/enforcement/check/<path:plate_raw>")
def check_plate(plate_raw: str):
    started = time.perf_counter()
    credential, facility = _authorize(request.args.get("facility"))
    body, reads = checking.check(db(), _caller(credential), facility, plate_raw)
    logger.info(
        "enforcement.check",
        operatorId=facility.operator_id,
        facilityId=facility.id,
        checkId=body["checkId"],
        status=body["status"],
        shouldFine=body["shouldFine"],
        ms=round((time.perf_counter() - started) * 1000, 1),
    )
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    # The credential, then gets by id: the skeleton index, the plate, any live look-alikes.
    _reads_header(response, 1 + reads)
    return response


@blueprint.get("/api/enforcement/facility/<path:facility_ref>/paid-plates")
def paid_plates(facility_ref: str):
    credential, facility = _authorize(facility_ref)
    since = request.args.get("since")
    if since is not None and not CURSOR.match(since):
        raise errors.bad_request("since must be a cursor from an earlier answer", "invalid_cursor")
    now = datetime.now(UTC)
    listed, reads = store.whitelist(db(), facility.operator_id, facility.id, now)
    plate_set = {p.plate: p.display for p in listed}
    cursor = store.cursor_of(facility.id, plate_set)
    etag = f'W/"{cursor}"'
    caller = _caller(credential)

    if since is None and request.if_none_match.contains_weak(cursor):
        response = Response(status=304)
        response.headers["ETag"] = etag
        response.headers["Cache-Control"] = "private, no-cache"
        _reads_header(response, 1 + reads)
        return response

    store.remember_snapshot(db(), facility.operator_id, facility.id, cursor, plate_set)
    store.log_whitelist(
        db(), caller, facility.operator_id, facility.id, len(listed), cursor, since, now
    )
    base: dict[str, Any] = {"facility": facility.name, "facilityId": facility.id}
    if since is not None:
        if since == cursor:
            previous: dict[str, str] | None = plate_set
        else:
            previous = store.load_snapshot(db(), facility.operator_id, facility.id, since)
        if previous is None:
            raise errors.ApiError(
                410, "cursor_expired", "The cursor is unknown or expired; fetch the full list"
            )
        body = {
            **base,
            "since": since,
            "cursor": cursor,
            "added": sorted(plate_set[p] for p in plate_set.keys() - previous.keys()),
            "removed": sorted(previous[p] for p in previous.keys() - plate_set.keys()),
            "count": len(listed),
            "generatedAt": _iso(now),
        }
    else:
        body = {
            **base,
            "paidPlates": [p.display for p in listed],
            "plates": [_entry(p, now) for p in listed],
            "count": len(listed),
            "generatedAt": _iso(now),
            "cursor": cursor,
        }
    logger.info(
        "enforcement.whitelist",
        operatorId=facility.operator_id,
        facilityId=facility.id,
        count=len(listed),
        delta=since is not None,
    )
    response = jsonify(body)
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = "private, no-cache"
    _reads_header(response, 1 + reads)
    return response


def _entry(doc: decision.PlateStatus, now: datetime) -> dict[str, Any]:
    answer = decision.decide(doc, now)
    best = answer.covering[0]
    return {
        "plate": doc.plate,
        "display": doc.display,
        "status": answer.status,
        "validUntil": None if best.ends_at >= decision.OPEN_ENDED else _iso(best.ends_at),
    }


@cache
def _openapi() -> dict[str, Any]:
    return json.loads(OPENAPI_PATH.read_text())


@blueprint.get("/api/openapi.json")
def openapi_document():
    response = jsonify(_openapi())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
