"""The durable, idempotent inbox: every accepted event is recorded with its outcome.

`events/{key}` is created in the same transaction that applies the event to the sessions,
with a create() precondition: a repeated delivery fails that precondition without any
extra read on the first delivery, and is then answered from the stored document. If the
processing itself fails, the event is still recorded (status "failed") so that the replay
command or the scheduled sweep processes it later; nothing accepted is lost.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from firebase_functions import logger
from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore import Client, Transaction
from google.cloud.firestore_v1.base_query import FieldFilter

from parkingdone import tenants
from parkingdone.sessions import machine, store

EVENTS = "events"
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Result:
    event_id: str
    session_id: str | None
    status: str  # "processed" | "failed"
    outcome: str | None
    replayed: bool = False

    def body(self) -> dict[str, Any]:
        return {
            "eventId": self.event_id,
            "sessionId": self.session_id,
            "status": self.status,
            "outcome": self.outcome,
        }


def event_key(
    operator_id: str,
    facility_id: str,
    kind: str,
    plate: str,
    at: datetime,
    external_id: str | None = None,
    source: str = "anpr",
) -> str:
    """The inbox id: the sender's event id when given, else the event's identifying facts."""
    if external_id:
        basis = f"id|{source}|{operator_id}|{external_id}"
    else:
        stamp = at.astimezone(UTC).isoformat()
        basis = f"facts|{source}|{operator_id}|{facility_id}|{kind}|{plate}|{stamp}"
    return "ev_" + hashlib.sha256(basis.encode()).hexdigest()[:40]


def record_of(event: machine.Event, facility: tenants.Facility, **extra: Any) -> dict[str, Any]:
    return {
        "operatorId": facility.operator_id,
        "facilityId": facility.id,
        "kind": event.kind,
        "plate": event.plate,
        "plateRaw": event.plate_raw,
        "country": event.country,
        "at": event.at,
        "imageUrl": event.image_url,
        "source": event.source,
        **extra,
    }


def event_from(event_id: str, data: dict[str, Any]) -> machine.Event:
    return machine.Event(
        kind=data["kind"],
        at=data["at"],
        plate=data["plate"],
        plate_raw=data.get("plateRaw") or data["plate"],
        event_id=event_id,
        source=data.get("source", "anpr"),
        country=data.get("country"),
        image_url=data.get("imageUrl"),
    )


def _result_from(event_id: str, data: dict[str, Any], replayed: bool) -> Result:
    return Result(
        event_id=event_id,
        session_id=data.get("sessionId"),
        status=data.get("status", "failed"),
        outcome=data.get("outcome"),
        replayed=replayed,
    )


def _apply(
    transaction: Transaction,
    db: Client,
    facility: tenants.Facility,
    event: machine.Event,
    record: dict[str, Any],
    retry: bool,
) -> Result:
    ref = db.collection(EVENTS).document(event.event_id)
    if retry:
        current = ref.get(transaction=transaction)
        if current.exists and current.get("status") == "processed":
            return _result_from(event.event_id, current.to_dict(), replayed=True)
    pointer, uid = store.read_state(
        transaction, db, facility.id, event.plate, with_owner=event.kind == "entry"
    )
    recent = None
    if machine.needs_recent_exit(event, pointer):
        window = timedelta(seconds=facility.entry_debounce_seconds)
        found = store.recent_exit(db, facility.id, event.plate, event.at, window, transaction)
        recent = found[0] if found else None
        if recent is None:
            uid = store.read_owner(transaction, db, event.plate)
    ctx = machine.Context(
        operator_id=facility.operator_id,
        facility_id=facility.id,
        driver_uid=uid,
        debounce=timedelta(seconds=facility.entry_debounce_seconds),
        max_stay=timedelta(minutes=facility.max_stay_minutes),
    )
    decision = machine.decide(event, pointer, ctx, recent)
    now = datetime.now(UTC)
    store.apply(transaction, db, facility.id, event.plate, facility.operator_id, decision, now)
    document = {
        **record,
        "status": "processed",
        "outcome": str(decision.outcome),
        "sessionId": decision.session_id,
        "processedAt": now,
        "error": None,
    }
    if retry:
        document["attempts"] = firestore.Increment(1)
        transaction.set(ref, document, merge=True)
    else:
        document["attempts"] = 1
        transaction.create(ref, document)
    return Result(event.event_id, decision.session_id, "processed", str(decision.outcome))


def _run(
    db: Client,
    facility: tenants.Facility,
    event: machine.Event,
    record: dict[str, Any],
    retry: bool,
) -> Result:
    @firestore.transactional
    def work(transaction: Transaction) -> Result:
        return _apply(transaction, db, facility, event, record, retry)

    return work(db.transaction())


def process(
    db: Client,
    facility: tenants.Facility,
    event: machine.Event,
    record: dict[str, Any],
) -> Result:
    """Record and apply `event` once; a repeat answers like the first delivery did."""
    log = {"operatorId": facility.operator_id, "facilityId": facility.id, "eventId": event.event_id}
    ref = db.collection(EVENTS).document(event.event_id)
    try:
        result = _run(db, facility, event, record, retry=False)
    except (gexc.AlreadyExists, gexc.Conflict):
        stored = ref.get()
        data = stored.to_dict() or {}
        if data.get("status") == "processed":
            return _result_from(event.event_id, data, replayed=True)
        # An earlier delivery was recorded as failed: this delivery is its retry.
        return retry(db, facility, event, record)
    except Exception as exc:
        return _record_failure(db, ref, record, exc, log)
    logger.info(
        "ingest.event_processed", **log, sessionId=result.session_id, outcome=result.outcome
    )
    return result


def retry(
    db: Client, facility: tenants.Facility, event: machine.Event, record: dict[str, Any]
) -> Result:
    """Process an event already in the inbox (failed earlier); no-op if it succeeded since."""
    log = {"operatorId": facility.operator_id, "facilityId": facility.id, "eventId": event.event_id}
    ref = db.collection(EVENTS).document(event.event_id)
    try:
        result = _run(db, facility, event, record, retry=True)
    except Exception as exc:
        return _record_failure(db, ref, record, exc, log, replay=True)
    logger.info("ingest.event_retried", **log, sessionId=result.session_id, outcome=result.outcome)
    return result


def _record_failure(
    db: Client,
    ref: firestore.DocumentReference,
    record: dict[str, Any],
    exc: Exception,
    log: dict[str, Any],
    replay: bool = False,
) -> Result:
    error = f"{type(exc).__name__}: {exc}"[:500]
    logger.error("ingest.event_failed", **log, error=error)
    failure = {
        **record,
        "status": "failed",
        "outcome": None,
        "sessionId": None,
        "error": error,
        "failedAt": datetime.now(UTC),
        "attempts": firestore.Increment(1),
    }
    # merge=True: keeps the first delivery's receivedAt/payload when a retry fails again,
    # and never turns a processed record back into a failure (checked by the status filter
    # of the replay, which only picks failed events).
    stored = ref.get()
    if stored.exists and stored.get("status") == "processed":
        return _result_from(ref.id, stored.to_dict(), replayed=True)
    ref.set(failure, merge=True)
    return Result(ref.id, None, "failed", None, replayed=replay)


def failed_events(db: Client, limit: int = 100, operator_id: str | None = None) -> list[Any]:
    query = db.collection(EVENTS).where(filter=FieldFilter("status", "==", "failed"))
    if operator_id:
        query = query.where(filter=FieldFilter("operatorId", "==", operator_id))
    return list(query.limit(limit).get())


def replay_failed(
    db: Client,
    limit: int = 100,
    operator_id: str | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> list[Result]:
    """Process every failed inbox event again (replay command and scheduled sweep)."""
    results = []
    for snapshot in failed_events(db, limit, operator_id):
        data = snapshot.to_dict()
        if data.get("attempts", 0) >= max_attempts:
            continue
        facility = tenants.find_facility(db, data["operatorId"], data["facilityId"])
        if facility is None:
            logger.warn("ingest.replay_unknown_facility", eventId=snapshot.id)
            continue
        event = event_from(snapshot.id, data)
        results.append(retry(db, facility, event, {}))
    return results
